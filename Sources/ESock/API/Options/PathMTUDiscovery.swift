/// Erlang's `ip_pmtudisc()` / `ipv6_pmtudisc()` (`IP_PMTUDISC_*`).
public enum PathMTUDiscovery: Int32, Sendable, Hashable, CustomStringConvertible {
    /// `IP_PMTUDISC_DONT`: never set the don't-fragment flag.
    case dont = 0
    /// `IP_PMTUDISC_WANT`: use per-route hints.
    case want = 1
    /// `IP_PMTUDISC_DO`: always set the don't-fragment flag.
    case `do` = 2
    /// `IP_PMTUDISC_PROBE`: set it, ignoring the path MTU.
    case probe = 3

    /// The Erlang atom.
    public var description: String {
        switch self {
        case .dont: return "dont"
        case .want: return "want"
        case .do: return "do"
        case .probe: return "probe"
        }
    }
}
