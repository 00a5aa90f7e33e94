/// The options of protocol level `tcp` (`IPPROTO_TCP`, C names `TCP_*`): Erlang's `{tcp, Opt}`
/// options. The raw value is Erlang's name. `noopt` and `nopush` (BSD's) answer
/// ``SocketError/Reason/notSupported`` on Linux; `md5sig` takes the native
/// `struct tcp_md5sig` bytes.
public enum TCPOption: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case congestion, cork, info, keepcnt, keepidle, keepintvl, maxseg, md5sig, nodelay, noopt, nopush
    case syncnt, userTimeout = "user_timeout"

    public var description: String { rawValue }

    var spec: OptionSpec {
        switch self {
        case .congestion: return OptionSpec(13, .string)
        case .cork: return OptionSpec(3, .bool)
        case .info: return OptionSpec(11, .tcpInfo, .getOnly)
        case .keepcnt: return OptionSpec(6, .int)
        case .keepidle: return OptionSpec(4, .int)
        case .keepintvl: return OptionSpec(5, .int)
        case .maxseg: return OptionSpec(2, .int)
        case .md5sig: return OptionSpec(14, .bytes, .setOnly)
        case .nodelay: return OptionSpec(1, .bool)
        case .noopt, .nopush: return OptionSpec(nil, .bool)
        case .syncnt: return OptionSpec(7, .int)
        case .userTimeout: return OptionSpec(18, .int)
        }
    }
}
