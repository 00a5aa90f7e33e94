/// An error from a socket's error queue (`IP_RECVERR` / `IPV6_RECVERR` control message): Erlang's
/// `extended_err()`, C's `struct sock_extended_err` followed by the offender's address.
public struct ExtendedError: Sendable, Hashable, CustomStringConvertible {
    /// Where the error came from (`ee_origin`): Erlang's `ee_origin() | 0..255`.
    public enum Origin: Sendable, Hashable, CustomStringConvertible {
        case none, local, icmp, icmp6
        case other(UInt8)

        init(rawValue: UInt8) {
            switch rawValue {
            case 0: self = .none
            case 1: self = .local
            case 2: self = .icmp
            case 3: self = .icmp6
            default: self = .other(rawValue)
            }
        }

        public var description: String {
            switch self {
            case .none: return "none"
            case .local: return "local"
            case .icmp: return "icmp"
            case .icmp6: return "icmp6"
            case .other(let v): return "\(v)"
            }
        }
    }

    /// The error (`ee_errno`): Erlang's `posix()`.
    public var error: SocketError.Errno
    public var origin: Origin
    /// The ICMP type (`ee_type`); see ``typeName``.
    public var type: UInt8
    /// The ICMP code (`ee_code`); see ``codeName``.
    public var code: UInt8
    public var info: UInt32
    public var data: UInt32
    /// The address of the node that reported the error (`SO_EE_OFFENDER`), when there is one.
    public var offender: SocketAddress?

    /// Erlang's symbolic type: `dest_unreach`, `time_exceeded` (ICMP), `pkt_toobig` (ICMPv6).
    public var typeName: String? {
        switch (origin, type) {
        case (.icmp, 3), (.icmp6, 1): return "dest_unreach"
        case (.icmp, 11), (.icmp6, 3): return "time_exceeded"
        case (.icmp6, 2): return "pkt_toobig"
        default: return nil
        }
    }

    /// Erlang's symbolic code of a destination-unreachable error: `icmp_dest_unreach()` or
    /// `icmpv6_dest_unreach()` (`port_unreach`, `host_unreach`, `noroute`, ...).
    public var codeName: String? {
        switch (origin, type) {
        case (.icmp, 3):
            return [0: "net_unreach", 1: "host_unreach", 3: "port_unreach", 4: "frag_needed",
                    6: "net_unknown", 7: "host_unknown"][code]
        case (.icmp6, 1):
            return [0: "noroute", 1: "adm_prohibited", 2: "not_neighbour", 3: "addr_unreach",
                    4: "port_unreach", 5: "policy_fail", 6: "reject_route"][code]
        default:
            return nil
        }
    }

    /// Decodes a `sock_extended_err` (16 bytes) and the offender's address after it.
    init?(bytes: [UInt8]) {
        guard bytes.count >= 16, let errno = bytes.load(UInt32.self, at: 0),
              let info = bytes.load(UInt32.self, at: 8), let data = bytes.load(UInt32.self, at: 12) else { return nil }
        self.error = SocketError.Errno(rawValue: Int32(truncatingIfNeeded: errno))
        self.origin = Origin(rawValue: bytes[4])
        self.type = bytes[5]
        self.code = bytes[6]
        self.info = info
        self.data = data
        let tail = Array(bytes[16...])
        let family = tail.load(UInt16.self, at: 0) ?? 0
        self.offender = family == 0 ? nil : SocketAddress(bytes: tail)
    }

    public var description: String {
        "#{error => \(error.name), origin => \(origin), type => \(typeName ?? "\(type)"), " +
            "code => \(codeName ?? "\(code)"), info => \(info), data => \(data), " +
            "offender => \(offender.map { "\($0)" } ?? "undefined")}"
    }
}
