/// The options of protocol level `udp` (`IPPROTO_UDP`): Erlang's `{udp, cork}`.
public enum UDPOption: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// `UDP_CORK`: boolean.
    case cork

    /// Erlang's name.
    public var description: String { rawValue }

    var spec: OptionSpec { OptionSpec(1, .bool) }
}
