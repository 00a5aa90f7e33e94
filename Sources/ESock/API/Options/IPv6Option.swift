/// The options of protocol level `ipv6` (`IPPROTO_IPV6`, C names `IPV6_*`): Erlang's
/// `{ipv6, Opt}` options. The raw value is Erlang's name. Options Linux lacks (`auth_level`,
/// `esp_trans_level`, `esp_network_level`, `faith`, `ipcomp_level`, `portrange`, `pktoptions`,
/// `use_min_mtu`) answer ``SocketError/Reason/notSupported``.
///
/// `tclass` takes an integer (the traffic class, -1 for the route's default), as Linux's
/// `IPV6_TCLASS` does, where the seed's table says boolean.
public enum IPv6Option: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// `IPV6_ADDRFORM`: a domain (`.domain`), set only.
    case addrform
    /// `IPV6_ADD_MEMBERSHIP`: `.ipv6Mreq`, set only.
    case addMembership = "add_membership"
    /// `IPV6_AUTHHDR`: boolean.
    case authhdr
    /// Not a Linux option (`notSupported`).
    case authLevel = "auth_level"
    /// `IPV6_CHECKSUM`: integer.
    case checksum
    /// `IPV6_DROP_MEMBERSHIP`: `.ipv6Mreq`, set only.
    case dropMembership = "drop_membership"
    /// `IPV6_DSTOPTS`: boolean.
    case dstopts
    /// Not a Linux option (`notSupported`).
    case espTransLevel = "esp_trans_level"
    /// Not a Linux option (`notSupported`).
    case espNetworkLevel = "esp_network_level"
    /// Not a Linux option (`notSupported`).
    case faith
    /// `IPV6_FLOWINFO`: boolean.
    case flowinfo
    /// `IPV6_HOPOPTS`: boolean.
    case hopopts
    /// Not a Linux option (`notSupported`).
    case ipcompLevel = "ipcomp_level"
    /// `IPV6_JOIN_GROUP`: `.ipv6Mreq`, set only.
    case joinGroup = "join_group"
    /// `IPV6_LEAVE_GROUP`: `.ipv6Mreq`, set only.
    case leaveGroup = "leave_group"
    /// `IPV6_MTU`: integer.
    case mtu
    /// `IPV6_MTU_DISCOVER`: `.pmtudisc` or an integer.
    case mtuDiscover = "mtu_discover"
    /// `IPV6_MULTICAST_HOPS`: `.hops` (nil: the default).
    case multicastHops = "multicast_hops"
    /// `IPV6_MULTICAST_IF`: integer.
    case multicastIf = "multicast_if"
    /// `IPV6_MULTICAST_LOOP`: boolean.
    case multicastLoop = "multicast_loop"
    /// Not a Linux option (`notSupported`).
    case portrange
    /// Not a Linux option (`notSupported`).
    case pktoptions
    /// `IPV6_RECVERR`: boolean.
    case recverr
    /// `IPV6_RECVHOPLIMIT`: boolean.
    case recvhoplimit
    /// `IPV6_HOPLIMIT`: boolean.
    case hoplimit
    /// `IPV6_RECVPKTINFO`: boolean.
    case recvpktinfo
    /// `IPV6_PKTINFO`: boolean.
    case pktinfo
    /// `IPV6_RECVTCLASS`: boolean.
    case recvtclass
    /// `IPV6_ROUTER_ALERT`: integer.
    case routerAlert = "router_alert"
    /// `IPV6_RTHDR`: boolean.
    case rthdr
    /// `IPV6_TCLASS`: integer.
    case tclass
    /// `IPV6_UNICAST_HOPS`: `.hops` (nil: the default).
    case unicastHops = "unicast_hops"
    /// Not a Linux option (`notSupported`).
    case useMinMTU = "use_min_mtu"
    /// `IPV6_V6ONLY`: boolean.
    case v6only

    /// Erlang's name.
    public var description: String { rawValue }

    var spec: OptionSpec {
        switch self {
        case .addrform: return OptionSpec(1, .domain, .setOnly)
        case .addMembership, .joinGroup: return OptionSpec(20, .ipv6Mreq, .setOnly)
        case .authhdr: return OptionSpec(10, .bool)
        case .authLevel, .espTransLevel, .espNetworkLevel, .ipcompLevel, .portrange: return OptionSpec(nil, .int)
        case .faith, .useMinMTU: return OptionSpec(nil, .bool)
        case .pktoptions: return OptionSpec(nil, .bytes)
        case .checksum: return OptionSpec(7, .int)
        case .dropMembership, .leaveGroup: return OptionSpec(21, .ipv6Mreq, .setOnly)
        case .dstopts: return OptionSpec(59, .bool)
        case .flowinfo: return OptionSpec(11, .bool)
        case .hopopts: return OptionSpec(54, .bool)
        case .mtu: return OptionSpec(24, .int)
        case .mtuDiscover: return OptionSpec(23, .pmtudisc)
        case .multicastHops: return OptionSpec(18, .hops)
        case .multicastIf: return OptionSpec(17, .int)
        case .multicastLoop: return OptionSpec(19, .bool)
        case .recverr: return OptionSpec(25, .bool)
        case .recvhoplimit: return OptionSpec(51, .bool)
        case .hoplimit: return OptionSpec(52, .bool)
        case .recvpktinfo: return OptionSpec(49, .bool)
        case .pktinfo: return OptionSpec(50, .bool)
        case .recvtclass: return OptionSpec(66, .bool)
        case .routerAlert: return OptionSpec(22, .int)
        case .rthdr: return OptionSpec(57, .bool)
        case .tclass: return OptionSpec(67, .int)
        case .unicastHops: return OptionSpec(16, .hops)
        case .v6only: return OptionSpec(26, .bool)
        }
    }
}
