/// A socket option: Erlang's `socket_option()` (`{Level, Opt}`) and `{otp, Opt}`, for
/// ``Socket/getopt(_:)`` and ``Socket/setopt(_:_:by:)``.
///
/// Options the kernel knows but ESock has no name for are reached with
/// ``Socket/getoptNative(level:option:as:)`` and ``Socket/setoptNative(level:option:_:)``.
public enum SocketOption: Sendable, Hashable, CustomStringConvertible {
    /// `{otp, Opt}`: ESock's own settings.
    case otp(OTPOption)
    /// `{socket, Opt}`: level `SOL_SOCKET`.
    case socket(SocketLevelOption)
    /// `{ip, Opt}`: level `IPPROTO_IP`.
    case ip(IPOption)
    /// `{ipv6, Opt}`: level `IPPROTO_IPV6`.
    case ipv6(IPv6Option)
    /// `{tcp, Opt}`: level `IPPROTO_TCP`.
    case tcp(TCPOption)
    /// `{udp, Opt}`: level `IPPROTO_UDP`.
    case udp(UDPOption)
    /// `{sctp, Opt}`: level `IPPROTO_SCTP`.
    case sctp(SCTPOption)

    /// Every option the seed lists, level by level (`otp` first).
    public static var allCases: [SocketOption] {
        OTPOption.allCases.map(SocketOption.otp) + SocketLevelOption.allCases.map(SocketOption.socket)
            + IPOption.allCases.map(SocketOption.ip) + IPv6Option.allCases.map(SocketOption.ipv6)
            + TCPOption.allCases.map(SocketOption.tcp) + UDPOption.allCases.map(SocketOption.udp)
            + SCTPOption.allCases.map(SocketOption.sctp)
    }

    /// The option's level; nil for `otp`, which is ESock's own.
    public var level: SocketLevel? {
        switch self {
        case .otp: return nil
        case .socket: return .socket
        case .ip: return .ip
        case .ipv6: return .ipv6
        case .tcp: return .tcp
        case .udp: return .udp
        case .sctp: return .sctp
        }
    }

    /// Erlang's name of the option within its level (`reuseaddr`, `add_membership`, ...).
    public var name: String {
        switch self {
        case .otp(let o): return o.rawValue
        case .socket(let o): return o.rawValue
        case .ip(let o): return o.rawValue
        case .ipv6(let o): return o.rawValue
        case .tcp(let o): return o.rawValue
        case .udp(let o): return o.rawValue
        case .sctp(let o): return o.rawValue
        }
    }

    /// The Linux description of a kernel option; nil for `otp` options.
    var spec: OptionSpec? {
        switch self {
        case .otp: return nil
        case .socket(let o): return o.spec
        case .ip(let o): return o.spec
        case .ipv6(let o): return o.spec
        case .tcp(let o): return o.spec
        case .udp(let o): return o.spec
        case .sctp(let o): return o.spec
        }
    }

    /// Erlang's form: `{socket, reuseaddr}`.
    public var description: String { "{\(level.map { "\($0)" } ?? "otp"), \(name)}" }
}
