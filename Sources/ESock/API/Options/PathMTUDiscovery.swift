/// Erlang's `ip_pmtudisc()` / `ipv6_pmtudisc()` (`IP_PMTUDISC_*`).
public enum PathMTUDiscovery: Int32, Sendable, Hashable, CustomStringConvertible {
    case dont = 0, want = 1, `do` = 2, probe = 3

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
