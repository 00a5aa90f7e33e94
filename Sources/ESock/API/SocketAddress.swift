#if canImport(Glibc)
import Glibc
#endif
import CESockShims

/// An IPv4 address: Erlang's `in_addr()`, `{0..255, 0..255, 0..255, 0..255}`.
public struct IPv4Address: Sendable, Hashable, CustomStringConvertible {
    /// The four bytes, most significant first.
    public var a: UInt8, b: UInt8, c: UInt8, d: UInt8

    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        (self.a, self.b, self.c, self.d) = (a, b, c, d)
    }

    /// Parses dotted-quad text (`"127.0.0.1"`); nil when it is not one.
    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var bytes: [UInt8] = []
        for p in parts {
            guard !p.isEmpty, p.count <= 3, let v = UInt8(p) else { return nil }
            bytes.append(v)
        }
        self.init(bytes[0], bytes[1], bytes[2], bytes[3])
    }

    /// `0.0.0.0` (Erlang: `any`).
    public static let any = IPv4Address(0, 0, 0, 0)
    /// `127.0.0.1` (Erlang: `loopback`).
    public static let loopback = IPv4Address(127, 0, 0, 1)
    /// `255.255.255.255` (Erlang: `broadcast`).
    public static let broadcast = IPv4Address(255, 255, 255, 255)

    public var description: String { "\(a).\(b).\(c).\(d)" }
}

/// An IPv6 address: Erlang's `in6_addr()`, eight 16-bit groups.
public struct IPv6Address: Sendable, Hashable, CustomStringConvertible {
    /// The sixteen bytes in network order.
    public var bytes: [UInt8]

    /// An address from its 16 bytes; nil when there are not exactly 16.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    /// An address from its eight 16-bit groups (Erlang's tuple form).
    public init(_ g0: UInt16, _ g1: UInt16, _ g2: UInt16, _ g3: UInt16,
                _ g4: UInt16, _ g5: UInt16, _ g6: UInt16, _ g7: UInt16) {
        var b: [UInt8] = []
        for g in [g0, g1, g2, g3, g4, g5, g6, g7] { b.append(UInt8(g >> 8)); b.append(UInt8(g & 0xff)) }
        self.bytes = b
    }

    /// The IPv4-mapped address `::ffff:a.b.c.d` of an IPv4 address (how a dual-stack IPv6
    /// socket sees IPv4 peers).
    public init(v4Mapped v4: IPv4Address) {
        self.bytes = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, v4.a, v4.b, v4.c, v4.d]
    }

    /// The IPv4 address this IPv4-mapped address stands for; nil for any other address.
    public var v4Mapped: IPv4Address? {
        guard bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff else { return nil }
        return IPv4Address(bytes[12], bytes[13], bytes[14], bytes[15])
    }

    /// `::` (Erlang: `any`).
    public static let any = IPv6Address(0, 0, 0, 0, 0, 0, 0, 0)
    /// `::1` (Erlang: `loopback`).
    public static let loopback = IPv6Address(0, 0, 0, 0, 0, 0, 0, 1)

    public var description: String {
        stride(from: 0, to: 16, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
            .joined(separator: ":")
    }
}

/// A socket address: Erlang's `sockaddr()`.
public enum SocketAddress: Sendable, Hashable, CustomStringConvertible {
    /// Erlang's `sockaddr_in()`: `#{family => inet, addr, port}`.
    case inet(IPv4Address, port: UInt16)
    /// Erlang's `sockaddr_in6()`: `#{family => inet6, addr, port, flowinfo, scope_id}`.
    case inet6(IPv6Address, port: UInt16, flowInfo: UInt32 = 0, scopeID: UInt32 = 0)
    /// Erlang's `sockaddr_un()`: a path without its terminating zero. A path whose first byte is
    /// zero is a Linux abstract address and is passed as it is, with no zero added or stripped.
    case local(path: [UInt8])
    /// Erlang's `sockaddr_ll()`: a link-layer address of a packet socket (Linux).
    case packet(PacketAddress)
    /// Erlang's `sockaddr_unspec()`.
    case unspec([UInt8])
    /// Erlang's `sockaddr_native()`: any other family, with the bytes after the family field.
    case native(family: Int32, bytes: [UInt8])

    /// A local (Unix domain) address for a file-system path.
    public static func local(_ path: String) -> SocketAddress { .local(path: Array(path.utf8)) }

    /// `127.0.0.1:port`.
    public static func loopback(port: UInt16) -> SocketAddress { .inet(.loopback, port: port) }

    /// The address's port, for inet and inet6 addresses.
    public var port: UInt16? {
        switch self {
        case .inet(_, let p): return p
        case .inet6(_, let p, _, _): return p
        default: return nil
        }
    }

    /// The protocol domain the address belongs to.
    public var domain: Domain {
        switch self {
        case .inet: return .inet
        case .inet6: return .inet6
        case .local: return .local
        case .packet: return .packet
        case .unspec: return .unspec
        case .native(let f, _): return Domain(rawValue: f)
        }
    }

    public var description: String {
        switch self {
        case .inet(let a, let p): return "\(a):\(p)"
        case .inet6(let a, let p, _, _): return "[\(a)]:\(p)"
        case .local(let path):
            if path.first == 0 { return "@" + String(decoding: path.dropFirst(), as: UTF8.self) }
            return String(decoding: path, as: UTF8.self)
        case .packet(let p): return "\(p)"
        case .unspec(let b): return "unspec(\(b.count) bytes)"
        case .native(let f, let b): return "native(family \(f), \(b.count) bytes)"
        }
    }

    /// Calls `body` with this address as a C `sockaddr`; throws `invalid` when it cannot be one.
    func withSockAddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) throws(SocketError) -> R {
        var storage = sockaddr_storage()
        let len = try encode(into: &storage)
        return withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, len) }
        }
    }

    /// Writes the address into `storage`; returns its length.
    func encode(into storage: inout sockaddr_storage) throws(SocketError) -> socklen_t {
        storage = sockaddr_storage()
        switch self {
        case .inet(let a, let port):
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = port.bigEndian
            sin.sin_addr.s_addr = (UInt32(a.a) << 24 | UInt32(a.b) << 16 | UInt32(a.c) << 8 | UInt32(a.d)).bigEndian
            withUnsafeMutableBytes(of: &storage) { dst in withUnsafeBytes(of: sin) { dst.copyMemory(from: $0) } }
            return socklen_t(MemoryLayout<sockaddr_in>.size)
        case .inet6(let a, let port, let flow, let scope):
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = port.bigEndian
            sin6.sin6_flowinfo = flow.bigEndian
            sin6.sin6_scope_id = scope
            withUnsafeMutableBytes(of: &sin6.sin6_addr) { $0.copyBytes(from: a.bytes) }
            withUnsafeMutableBytes(of: &storage) { dst in withUnsafeBytes(of: sin6) { dst.copyMemory(from: $0) } }
            return socklen_t(MemoryLayout<sockaddr_in6>.size)
        case .local(let path):
            let capacity = MemoryLayout.size(ofValue: sockaddr_un().sun_path)
            let abstract = path.first == 0
            // A path gets a terminating zero; an abstract address is passed as it is.
            guard path.count + (abstract ? 0 : 1) <= capacity else {
                throw .invalid("local address is \(path.count) bytes, at most \(capacity - (abstract ? 0 : 1)) fit")
            }
            if !abstract, path.contains(0) { throw .invalid("local path contains a zero byte") }
            var sun = sockaddr_un()
            sun.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &sun.sun_path) { $0.copyBytes(from: path) }
            withUnsafeMutableBytes(of: &storage) { dst in withUnsafeBytes(of: sun) { dst.copyMemory(from: $0) } }
            let base = MemoryLayout<sa_family_t>.size
            return socklen_t(base + path.count + (abstract ? 0 : 1))
        case .packet(let p):
            guard p.address.count <= 8 else { throw .invalid("a packet address has at most 8 bytes, not \(p.address.count)") }
            var sll = sockaddr_ll()
            sll.sll_family = UInt16(AF_PACKET)
            sll.sll_protocol = p.protocol.bigEndian
            sll.sll_ifindex = p.ifindex
            sll.sll_hatype = p.hardwareType
            sll.sll_pkttype = p.packetType
            sll.sll_halen = UInt8(p.address.count)
            withUnsafeMutableBytes(of: &sll.sll_addr) { $0.copyBytes(from: p.address) }
            withUnsafeMutableBytes(of: &storage) { dst in withUnsafeBytes(of: sll) { dst.copyMemory(from: $0) } }
            return socklen_t(MemoryLayout<sockaddr_ll>.size)
        case .unspec(let bytes), .native(_, let bytes):
            let family: Int32
            if case .native(let f, _) = self { family = f } else { family = AF_UNSPEC }
            let base = MemoryLayout<sa_family_t>.size
            guard base + bytes.count <= MemoryLayout<sockaddr_storage>.size else {
                throw .invalid("native address of \(bytes.count) bytes is too long")
            }
            // sa_family_t is 16 bits: a family outside it is bad input, not a trap.
            guard let f = sa_family_t(exactly: family) else {
                throw .invalid("address family \(family) is not a 16-bit family number")
            }
            storage.ss_family = f
            withUnsafeMutableBytes(of: &storage) { UnsafeMutableRawBufferPointer(rebasing: $0[base...]).copyBytes(from: bytes) }
            return socklen_t(base + bytes.count)
        }
    }

    /// Decodes a C socket address of `length` bytes.
    init(storage: sockaddr_storage, length: socklen_t) {
        let len = Int(length)
        switch Int32(storage.ss_family) {
        case AF_INET where len >= MemoryLayout<sockaddr_in>.size:
            let sin = withUnsafeBytes(of: storage) { $0.loadUnaligned(as: sockaddr_in.self) }
            let v = UInt32(bigEndian: sin.sin_addr.s_addr)
            self = .inet(IPv4Address(UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)),
                         port: UInt16(bigEndian: sin.sin_port))
        case AF_INET6 where len >= MemoryLayout<sockaddr_in6>.size:
            let sin6 = withUnsafeBytes(of: storage) { $0.loadUnaligned(as: sockaddr_in6.self) }
            let bytes = withUnsafeBytes(of: sin6.sin6_addr) { Array($0) }
            self = .inet6(IPv6Address(bytes: bytes) ?? .any, port: UInt16(bigEndian: sin6.sin6_port),
                          flowInfo: UInt32(bigEndian: sin6.sin6_flowinfo), scopeID: sin6.sin6_scope_id)
        case AF_PACKET where len >= 12:
            // The kernel gives the fixed 12 bytes and `sll_halen` bytes of address, not always
            // the whole struct.
            let sll = withUnsafeBytes(of: storage) { $0.loadUnaligned(as: sockaddr_ll.self) }
            let hardware = withUnsafeBytes(of: sll.sll_addr) { Array($0.prefix(min(Int(sll.sll_halen), 8, len - 12))) }
            self = .packet(PacketAddress(protocol: UInt16(bigEndian: sll.sll_protocol), ifindex: sll.sll_ifindex,
                                         packetType: sll.sll_pkttype, hardwareType: sll.sll_hatype, address: hardware))
        case AF_UNIX:
            let base = MemoryLayout<sa_family_t>.size
            var path = withUnsafeBytes(of: storage) { Array($0[base..<max(base, min(len, $0.count))]) }
            // Strip the terminating zero of a path; an abstract address keeps every byte.
            if path.first != 0, let nul = path.firstIndex(of: 0) { path.removeSubrange(nul...) }
            self = .local(path: path)
        default:
            let base = MemoryLayout<sa_family_t>.size
            let bytes = withUnsafeBytes(of: storage) { Array($0[base..<max(base, min(len, $0.count))]) }
            if Int32(storage.ss_family) == AF_UNSPEC { self = .unspec(bytes) } else {
                self = .native(family: Int32(storage.ss_family), bytes: bytes)
            }
        }
    }
}
