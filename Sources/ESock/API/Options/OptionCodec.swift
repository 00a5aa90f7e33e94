/// The translation between ``OptionValue`` and the bytes `setsockopt(2)` takes and
/// `getsockopt(2)` gives, for each ``OptionSpec/Kind``. Pure functions over byte arrays: every
/// length is checked, a value of the wrong kind or out of range is a ``SocketError`` naming the
/// option, never a trap (the fuzz driver in the tests feeds them random input).
enum OptionCodec {
    /// The bytes to pass to `setsockopt(2)` for `value`, an option of `kind`; `option` names it
    /// in errors.
    static func encode(_ value: OptionValue, as kind: OptionSpec.Kind, for option: String) throws(SocketError) -> [UInt8] {
        func wrong() -> SocketError { .invalid("\(option) does not take \(value)") }
        func int32(_ n: Int, in range: ClosedRange<Int> = Int(Int32.min)...Int(Int32.max)) throws(SocketError) -> [UInt8] {
            guard range.contains(n) else { throw .invalid("\(option): \(n) is out of range \(range)") }
            var out: [UInt8] = []
            out.append(native: Int32(n))
            return out
        }
        switch (kind, value) {
        case (.bool, .bool(let b)): return try int32(b ? 1 : 0)
        case (.int, .int(let n)): return try int32(n)
        case (.string, .string(let s)):
            let bytes = Array(s.utf8)
            guard !bytes.contains(0) else { throw .invalid("\(option): the name contains a zero byte") }
            return bytes
        case (.bytes, .bytes(let b)): return b
        case (.linger, .linger(let seconds)):
            guard let seconds else { return try int32(0) + int32(0) }
            return try int32(1) + int32(seconds, in: 0...Int(Int32.max))
        case (.timeval, .timeval(let t)):
            guard t.seconds >= 0, (0..<1_000_000).contains(t.microseconds) else {
                throw .invalid("\(option): \(t) is not a valid time")
            }
            var out: [UInt8] = []
            out.append(native: Int(t.seconds))
            out.append(native: Int(t.microseconds))
            return out
        case (.tos, .tos(let t)): return try int32(Int(t.rawValue))
        case (.tos, .int(let n)): return try int32(n, in: 0...255)
        case (.pmtudisc, .pmtudisc(let p)): return try int32(Int(p.rawValue))
        case (.pmtudisc, .int(let n)): return try int32(n)
        case (.hops, .hops(let h)): return try int32(h ?? -1, in: -1...255)
        case (.hops, .int(let n)): return try int32(n, in: -1...255)
        case (.ipv4, .ipv4(let a)): return a.bytes
        case (.ipMreq, .ipMreq(let group, let interface)): return group.bytes + interface.bytes
        case (.ipMreqSource, .ipMreqSource(let group, let interface, let source)):
            return group.bytes + interface.bytes + source.bytes
        case (.ipMsfilter, .ipMsfilter(let group, let interface, let include, let sources)):
            guard sources.count <= 1024 else { throw .invalid("\(option): \(sources.count) sources, more than 1024") }
            var out = group.bytes + interface.bytes
            out.append(native: UInt32(include ? 1 : 0))  // MCAST_INCLUDE 1, MCAST_EXCLUDE 0
            out.append(native: UInt32(sources.count))
            // The C structure holds room for one source even when the list is empty.
            out += sources.isEmpty ? [0, 0, 0, 0] : sources.flatMap(\.bytes)
            return out
        case (.ipv6Mreq, .ipv6Mreq(let group, let interface)):
            var out = group.bytes
            out.append(native: interface)
            return out
        case (.domain, .domain(let d)): return try int32(Int(d.rawValue))
        default: throw wrong()
        }
    }

    /// The room to give `getsockopt(2)` for an option of `kind`.
    static func capacity(of kind: OptionSpec.Kind) -> Int {
        switch kind {
        case .bool, .int, .tos, .pmtudisc, .hops, .domain, .type, .protocol, .ipv4: return 4
        case .linger, .ipMreq: return 8
        case .credentials, .ipMreqSource: return 12
        case .timeval: return 16
        case .ipv6Mreq: return 20
        case .string: return 256
        case .bytes, .ipMsfilter: return 1024
        case .tcpInfo: return 512
        }
    }

    /// The value of an option of `kind` from the bytes `getsockopt(2)` gave.
    static func decode(_ bytes: [UInt8], as kind: OptionSpec.Kind, for option: String) throws(SocketError) -> OptionValue {
        func short() -> SocketError { .invalid("\(option): the kernel gave \(bytes.count) bytes") }
        /// An `int`; some options (`IP_MULTICAST_LOOP`, `IP_MULTICAST_TTL` on a short buffer)
        /// answer with one byte.
        func int() throws(SocketError) -> Int {
            if let n = bytes.load(Int32.self, at: 0) { return Int(n) }
            if bytes.count == 1 { return Int(bytes[0]) }
            throw short()
        }
        switch kind {
        case .bool: return .bool(try int() != 0)
        case .int: return .int(try int())
        case .string: return .string(String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self))
        case .bytes: return .bytes(bytes)
        case .linger:
            guard let on = bytes.load(Int32.self, at: 0), let seconds = bytes.load(Int32.self, at: 4) else { throw short() }
            return .linger(on == 0 ? nil : Int(seconds))
        case .timeval:
            guard let s = bytes.load(Int.self, at: 0), let us = bytes.load(Int.self, at: 8) else { throw short() }
            return .timeval(TimeValue(seconds: Int64(s), microseconds: Int64(us)))
        case .tos: return .tos(IPTypeOfService(rawValue: UInt8(truncatingIfNeeded: try int())))
        case .pmtudisc:
            let n = try int()
            guard let p = Int32(exactly: n).flatMap(PathMTUDiscovery.init(rawValue:)) else { return .int(n) }
            return .pmtudisc(p)
        case .hops:
            let n = try int()
            return .hops(n < 0 ? nil : n)
        case .ipv4:
            guard bytes.count >= 4 else { throw short() }
            return .ipv4(IPv4Address(bytes[0], bytes[1], bytes[2], bytes[3]))
        case .domain: return .domain(Domain(rawValue: Int32(truncatingIfNeeded: try int())))
        case .type: return .type(SocketType(rawValue: Int32(truncatingIfNeeded: try int())))
        case .protocol: return .protocol(SocketProtocol(rawValue: Int32(truncatingIfNeeded: try int())))
        case .credentials:
            guard let c = Credentials(bytes: Array(bytes.prefix(12))) else { throw short() }
            return .credentials(c)
        case .tcpInfo:
            guard let info = TCPInfo(bytes: bytes) else { throw short() }
            return .tcpInfo(info)
        case .ipMreq, .ipMreqSource, .ipMsfilter, .ipv6Mreq:
            // Set-only structures: the kernel never gives them back.
            return .bytes(bytes)
        }
    }
}

extension IPv4Address {
    /// The four bytes of a `struct in_addr`.
    var bytes: [UInt8] { [a, b, c, d] }
}
