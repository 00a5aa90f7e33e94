#if canImport(Glibc)
import Glibc
#endif

/// A protocol level: Erlang's `level()`, for options (`getopt/setopt`) and control messages
/// (the `cmsg_level` of a `struct cmsghdr`). Other levels are given by number.
public enum SocketLevel: Sendable, Hashable, CustomStringConvertible {
    /// `SOL_SOCKET`.
    case socket
    /// `IPPROTO_IP`.
    case ip
    /// `IPPROTO_IPV6`.
    case ipv6
    /// `IPPROTO_TCP`.
    case tcp
    /// `IPPROTO_UDP`.
    case udp
    /// `IPPROTO_SCTP`.
    case sctp
    /// Any other level, by its number.
    case native(Int32)

    /// The C value of the level.
    public var rawValue: Int32 {
        switch self {
        case .socket: return SOL_SOCKET
        case .ip: return Int32(IPPROTO_IP)
        case .ipv6: return Int32(IPPROTO_IPV6)
        case .tcp: return Int32(IPPROTO_TCP)
        case .udp: return Int32(IPPROTO_UDP)
        case .sctp: return Int32(IPPROTO_SCTP)
        case .native(let n): return n
        }
    }

    /// The level with C value `rawValue`; the named case when there is one.
    public init(rawValue: Int32) {
        switch rawValue {
        case SOL_SOCKET: self = .socket
        case Int32(IPPROTO_IP): self = .ip
        case Int32(IPPROTO_IPV6): self = .ipv6
        case Int32(IPPROTO_TCP): self = .tcp
        case Int32(IPPROTO_UDP): self = .udp
        case Int32(IPPROTO_SCTP): self = .sctp
        default: self = .native(rawValue)
        }
    }

    public var description: String {
        switch self {
        case .socket: return "socket"
        case .ip: return "ip"
        case .ipv6: return "ipv6"
        case .tcp: return "tcp"
        case .udp: return "udp"
        case .sctp: return "sctp"
        case .native(let n): return "\(n)"
        }
    }
}
