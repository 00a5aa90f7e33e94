/// The options of protocol level `tcp` (`IPPROTO_TCP`, C names `TCP_*`): Erlang's `{tcp, Opt}`
/// options. The raw value is Erlang's name. `noopt` and `nopush` (BSD's) answer
/// ``SocketError/Reason/notSupported`` on Linux; `md5sig` takes the native
/// `struct tcp_md5sig` bytes.
public enum TCPOption: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// `TCP_CONGESTION`: a name (`.string`).
    case congestion
    /// `TCP_CORK`: boolean.
    case cork
    /// `TCP_INFO`: `.tcpInfo`, get only.
    case info
    /// `TCP_KEEPCNT`: integer.
    case keepcnt
    /// `TCP_KEEPIDLE`: integer.
    case keepidle
    /// `TCP_KEEPINTVL`: integer.
    case keepintvl
    /// `TCP_MAXSEG`: integer.
    case maxseg
    /// `TCP_MD5SIG`: the C structure as `.bytes`, set only.
    case md5sig
    /// `TCP_NODELAY`: boolean.
    case nodelay
    /// Not a Linux option (`notSupported`).
    case noopt
    /// Not a Linux option (`notSupported`).
    case nopush
    /// `TCP_SYNCNT`: integer.
    case syncnt
    /// `TCP_USER_TIMEOUT`: integer.
    case userTimeout = "user_timeout"

    /// Erlang's name.
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
