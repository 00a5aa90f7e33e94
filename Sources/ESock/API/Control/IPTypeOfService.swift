/// An IPv4 type-of-service byte: Erlang's `ip_tos() | integer()` (the `IPTOS_*` names).
public enum IPTypeOfService: Sendable, Hashable, CustomStringConvertible {
    case lowdelay, throughput, reliability, mincost
    /// Any other value.
    case value(UInt8)

    public init(rawValue: UInt8) {
        switch rawValue {
        case 0x10: self = .lowdelay
        case 0x08: self = .throughput
        case 0x04: self = .reliability
        case 0x02: self = .mincost
        default: self = .value(rawValue)
        }
    }

    /// The byte.
    public var rawValue: UInt8 {
        switch self {
        case .lowdelay: return 0x10
        case .throughput: return 0x08
        case .reliability: return 0x04
        case .mincost: return 0x02
        case .value(let v): return v
        }
    }

    public var description: String {
        switch self {
        case .lowdelay: return "lowdelay"
        case .throughput: return "throughput"
        case .reliability: return "reliability"
        case .mincost: return "mincost"
        case .value(let v): return "\(v)"
        }
    }
}
