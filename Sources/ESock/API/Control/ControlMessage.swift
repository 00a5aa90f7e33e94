#if canImport(Glibc)
import Glibc
#endif

/// A control (ancillary) message: Erlang's `cmsg_send()` / `cmsg_recv()`, C's `struct cmsghdr`.
///
/// ``data`` is always the message's native bytes (`CMSG_DATA`); ``value`` is its decoded form
/// where ESock knows the (level, type) pair, and ``name`` Erlang's symbolic type. Build messages
/// to send with the constructors (``rights(_:)``, ``credentials(_:)``, ``tos(_:)``, ...) or, for
/// anything else, ``init(level:type:data:)`` with the bytes the platform's headers define.
public struct ControlMessage: Sendable, Hashable, CustomStringConvertible {
    /// The protocol level (`cmsg_level`).
    public var level: SocketLevel
    /// The type within the level (`cmsg_type`).
    public var type: Int32
    /// The native bytes of the message (`cmsg_len - CMSG_LEN(0)` bytes).
    public var data: [UInt8]

    /// A control message of any level and type, with its native bytes.
    public init(level: SocketLevel, type: Int32, data: [UInt8]) {
        self.level = level
        self.type = type
        self.data = data
    }

    /// Linux's `cmsg_type` values ESock decodes.
    enum Kind {
        static let rights: Int32 = 1          // SCM_RIGHTS
        static let credentials: Int32 = 2     // SCM_CREDENTIALS
        static let timestamp: Int32 = 29      // SCM_TIMESTAMP (SO_TIMESTAMP)
        static let ipTOS: Int32 = 1           // IP_TOS (also what IP_RECVTOS delivers)
        static let ipTTL: Int32 = 2           // IP_TTL (also what IP_RECVTTL delivers)
        static let ipPacketInfo: Int32 = 8    // IP_PKTINFO
        static let ipRecvErr: Int32 = 11      // IP_RECVERR
        static let ipOrigDstAddr: Int32 = 20  // IP_ORIGDSTADDR
        static let ipv6RecvErr: Int32 = 25    // IPV6_RECVERR
        static let ipv6PacketInfo: Int32 = 50 // IPV6_PKTINFO
        static let ipv6HopLimit: Int32 = 52   // IPV6_HOPLIMIT
        static let ipv6TClass: Int32 = 67     // IPV6_TCLASS
    }

    // MARK: Constructors (Erlang's cmsg_send())

    /// Passes descriptors over a local socket (`SOL_SOCKET`/`SCM_RIGHTS`). The receiver gets new
    /// descriptors for the same open files.
    public static func rights(_ descriptors: [Int32]) -> ControlMessage {
        var data: [UInt8] = []
        for fd in descriptors { data.append(native: fd) }
        return ControlMessage(level: .socket, type: Kind.rights, data: data)
    }

    /// Sends credentials over a local socket (`SOL_SOCKET`/`SCM_CREDENTIALS`); the kernel checks
    /// them against the sender's rights.
    public static func credentials(_ credentials: Credentials) -> ControlMessage {
        ControlMessage(level: .socket, type: Kind.credentials, data: credentials.bytes)
    }

    /// A timestamp (`SOL_SOCKET`/`SO_TIMESTAMP`).
    public static func timestamp(_ time: TimeValue) -> ControlMessage {
        ControlMessage(level: .socket, type: Kind.timestamp, data: time.bytes)
    }

    /// The type of service of this datagram (`IPPROTO_IP`/`IP_TOS`).
    public static func tos(_ tos: IPTypeOfService) -> ControlMessage {
        int(.ip, Kind.ipTOS, Int32(tos.rawValue))
    }

    /// The time to live of this datagram (`IPPROTO_IP`/`IP_TTL`).
    public static func ttl(_ ttl: UInt8) -> ControlMessage { int(.ip, Kind.ipTTL, Int32(ttl)) }

    /// The hop limit of this IPv6 datagram (`IPPROTO_IPV6`/`IPV6_HOPLIMIT`).
    public static func hoplimit(_ hops: UInt8) -> ControlMessage { int(.ipv6, Kind.ipv6HopLimit, Int32(hops)) }

    /// The traffic class of this IPv6 datagram (`IPPROTO_IPV6`/`IPV6_TCLASS`).
    public static func tclass(_ tclass: UInt8) -> ControlMessage { int(.ipv6, Kind.ipv6TClass, Int32(tclass)) }

    private static func int(_ level: SocketLevel, _ type: Int32, _ value: Int32) -> ControlMessage {
        var data: [UInt8] = []
        data.append(native: value)
        return ControlMessage(level: level, type: type, data: data)
    }

    // MARK: Decoded form (Erlang's cmsg_recv())

    /// The decoded value of a control message.
    public enum Value: Sendable, Hashable, CustomStringConvertible {
        case timestamp(TimeValue)
        case rights([Int32])
        case credentials(Credentials)
        case tos(IPTypeOfService)
        case ttl(Int)
        case pktinfo(IPPacketInfo)
        case origdstaddr(SocketAddress)
        case recverr(ExtendedError)
        case hoplimit(Int)
        case ipv6PacketInfo(IPv6PacketInfo)
        case tclass(Int)

        public var description: String {
            switch self {
            case .timestamp(let t): return "\(t)"
            case .rights(let fds): return "\(fds)"
            case .credentials(let c): return "\(c)"
            case .tos(let t): return "\(t)"
            case .ttl(let n), .hoplimit(let n), .tclass(let n): return "\(n)"
            case .pktinfo(let p): return "\(p)"
            case .origdstaddr(let a): return "\(a)"
            case .recverr(let e): return "\(e)"
            case .ipv6PacketInfo(let p): return "\(p)"
            }
        }
    }

    /// The decoded value, or nil when ESock does not know this (level, type) or the bytes are not
    /// what the platform defines for it.
    public var value: Value? {
        switch (level, type) {
        case (.socket, Kind.rights):
            guard data.count % 4 == 0 else { return nil }
            return .rights(stride(from: 0, to: data.count, by: 4).compactMap { data.load(Int32.self, at: $0) })
        case (.socket, Kind.credentials): return Credentials(bytes: data).map(Value.credentials)
        case (.socket, Kind.timestamp): return TimeValue(bytes: data).map(Value.timestamp)
        case (.ip, Kind.ipTOS):
            guard let byte = data.count == 1 ? data.first : data.load(Int32.self, at: 0).map({ UInt8(truncatingIfNeeded: $0) }) else { return nil }
            return .tos(IPTypeOfService(rawValue: byte))
        case (.ip, Kind.ipTTL):
            guard let n = data.count == 1 ? data.first.map(Int32.init) : data.load(Int32.self, at: 0) else { return nil }
            return .ttl(Int(n))
        case (.ip, Kind.ipPacketInfo): return IPPacketInfo(bytes: data).map(Value.pktinfo)
        case (.ip, Kind.ipOrigDstAddr):
            guard data.count >= 2 else { return nil }
            return .origdstaddr(SocketAddress(bytes: data))
        case (.ip, Kind.ipRecvErr), (.ipv6, Kind.ipv6RecvErr): return ExtendedError(bytes: data).map(Value.recverr)
        case (.ipv6, Kind.ipv6HopLimit): return data.count == 4 ? data.load(Int32.self, at: 0).map { .hoplimit(Int($0)) } : nil
        case (.ipv6, Kind.ipv6TClass): return data.count == 4 ? data.load(Int32.self, at: 0).map { .tclass(Int($0)) } : nil
        case (.ipv6, Kind.ipv6PacketInfo): return IPv6PacketInfo(bytes: data).map(Value.ipv6PacketInfo)
        default: return nil
        }
    }

    /// Erlang's symbolic type (`timestamp`, `rights`, `credentials`, `tos`, `ttl`, `pktinfo`,
    /// `origdstaddr`, `recverr`, `hoplimit`, `tclass`), or nil for a type ESock does not name.
    public var name: String? {
        switch (level, type) {
        case (.socket, Kind.rights): return "rights"
        case (.socket, Kind.credentials): return "credentials"
        case (.socket, Kind.timestamp): return "timestamp"
        case (.ip, Kind.ipTOS): return "tos"
        case (.ip, Kind.ipTTL): return "ttl"
        case (.ip, Kind.ipPacketInfo): return "pktinfo"
        case (.ip, Kind.ipOrigDstAddr): return "origdstaddr"
        case (.ip, Kind.ipRecvErr), (.ipv6, Kind.ipv6RecvErr): return "recverr"
        case (.ipv6, Kind.ipv6HopLimit): return "hoplimit"
        case (.ipv6, Kind.ipv6TClass): return "tclass"
        case (.ipv6, Kind.ipv6PacketInfo): return "pktinfo"
        default: return nil
        }
    }

    public var description: String {
        var s = "#{level => \(level), type => \(name ?? "\(type)"), data => <<\(data.count) bytes>>"
        if let value { s += ", value => \(value)" }
        return s + "}"
    }

    // MARK: The msg_control buffer

    /// `sizeof(struct cmsghdr)` and the alignment of `CMSG_ALIGN` on this platform.
    static let headerSize = MemoryLayout<cmsghdr>.size
    static let alignment = MemoryLayout<Int>.size

    static func aligned(_ n: Int) -> Int { (n + alignment - 1) & ~(alignment - 1) }

    /// The bytes of a `msg_control` buffer holding `messages`, each `CMSG_SPACE`-aligned. Throws
    /// `invalid` for a message that is malformed: data too long, or a known type whose bytes are
    /// not what the platform defines (e.g. rights that are not descriptors).
    static func encode(_ messages: [ControlMessage]) throws(SocketError) -> [UInt8] {
        var out: [UInt8] = []
        for m in messages {
            guard m.data.count <= 65536 else { throw .invalid("control message \(m.level)/\(m.type) of \(m.data.count) bytes") }
            if m.name != nil, m.value == nil {
                throw .invalid("malformed control message \(m.level)/\(m.name ?? "\(m.type)"): \(m.data.count) bytes")
            }
            if case .rights(let fds)? = m.value, fds.isEmpty || fds.contains(where: { $0 < 0 }) {
                throw .invalid("rights must carry descriptors, not \(fds)")
            }
            let length = headerSize + m.data.count
            out.append(native: UInt(length))
            out.append(native: m.level.rawValue)
            out.append(native: m.type)
            out += m.data
            out += [UInt8](repeating: 0, count: aligned(length) - length)
        }
        return out
    }

    /// The control messages in a `msg_control` buffer of `buffer.count` bytes (the
    /// `msg_controllen` the kernel returned). Stops at the first header that does not fit or
    /// whose length is impossible; never reads outside `buffer`.
    static func decode(_ buffer: UnsafeRawBufferPointer) -> [ControlMessage] {
        var messages: [ControlMessage] = []
        var offset = 0
        while offset + headerSize <= buffer.count {
            let length = Int(buffer.loadUnaligned(fromByteOffset: offset, as: UInt.self) & UInt(Int32.max))
            guard length >= headerSize, length <= buffer.count - offset else { break }
            let level = buffer.loadUnaligned(fromByteOffset: offset + alignment, as: Int32.self)
            let type = buffer.loadUnaligned(fromByteOffset: offset + alignment + 4, as: Int32.self)
            let data = Array(buffer[(offset + headerSize)..<(offset + length)])
            messages.append(ControlMessage(level: SocketLevel(rawValue: level), type: type, data: data))
            let next = aligned(length)
            guard next <= buffer.count - offset else { break }
            offset += next
        }
        return messages
    }
}
