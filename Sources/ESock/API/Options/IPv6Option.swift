/// The options of protocol level `ipv6` (`IPPROTO_IPV6`, C names `IPV6_*`): Erlang's
/// `{ipv6, Opt}` options. The raw value is Erlang's name. Options Linux lacks (`auth_level`,
/// `esp_trans_level`, `esp_network_level`, `faith`, `ipcomp_level`, `portrange`, `pktoptions`,
/// `use_min_mtu`) answer ``SocketError/Reason/notSupported``.
///
/// `tclass` takes an integer (the traffic class, -1 for the route's default), as Linux's
/// `IPV6_TCLASS` does, where the seed's table says boolean.
public enum IPv6Option: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case addrform, addMembership = "add_membership", authhdr, authLevel = "auth_level", checksum
    case dropMembership = "drop_membership", dstopts, espTransLevel = "esp_trans_level"
    case espNetworkLevel = "esp_network_level", faith, flowinfo, hopopts, ipcompLevel = "ipcomp_level"
    case joinGroup = "join_group", leaveGroup = "leave_group", mtu, mtuDiscover = "mtu_discover"
    case multicastHops = "multicast_hops", multicastIf = "multicast_if", multicastLoop = "multicast_loop"
    case portrange, pktoptions, recverr, recvhoplimit, hoplimit, recvpktinfo, pktinfo, recvtclass
    case routerAlert = "router_alert", rthdr, tclass, unicastHops = "unicast_hops"
    case useMinMTU = "use_min_mtu", v6only

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
