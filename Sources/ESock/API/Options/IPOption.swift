/// The options of protocol level `ip` (`IPPROTO_IP`, C names `IP_*`): Erlang's `{ip, Opt}`
/// options. The raw value is Erlang's name. Options Linux lacks (`dontfrag`, `recvdstaddr`,
/// `recvif`, `sndsrcaddr`: BSD's) answer ``SocketError/Reason/notSupported``.
public enum IPOption: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case addMembership = "add_membership", addSourceMembership = "add_source_membership"
    case blockSource = "block_source", dontfrag, dropMembership = "drop_membership"
    case dropSourceMembership = "drop_source_membership", freebind, hdrincl, minttl, msfilter, mtu
    case mtuDiscover = "mtu_discover", multicastAll = "multicast_all", multicastIf = "multicast_if"
    case multicastLoop = "multicast_loop", multicastTTL = "multicast_ttl", nodefrag, options, pktinfo
    case recvdstaddr, recverr, recvif, recvopts, recvorigdstaddr, recvtos, recvttl, retopts
    case routerAlert = "router_alert", sndsrcaddr, tos, transparent, ttl
    case unblockSource = "unblock_source"

    public var description: String { rawValue }

    var spec: OptionSpec {
        switch self {
        case .addMembership: return OptionSpec(35, .ipMreq, .setOnly)
        case .addSourceMembership: return OptionSpec(39, .ipMreqSource, .setOnly)
        case .blockSource: return OptionSpec(38, .ipMreqSource, .setOnly)
        case .dontfrag, .recvdstaddr, .recvif, .sndsrcaddr: return OptionSpec(nil, .bool)
        case .dropMembership: return OptionSpec(36, .ipMreq, .setOnly)
        case .dropSourceMembership: return OptionSpec(40, .ipMreqSource, .setOnly)
        case .freebind: return OptionSpec(15, .bool)
        case .hdrincl: return OptionSpec(3, .bool)
        case .minttl: return OptionSpec(21, .int)
        case .msfilter: return OptionSpec(41, .ipMsfilter, .setOnly)
        case .mtu: return OptionSpec(14, .int, .getOnly)
        case .mtuDiscover: return OptionSpec(10, .pmtudisc)
        case .multicastAll: return OptionSpec(49, .bool)
        case .multicastIf: return OptionSpec(32, .ipv4)
        case .multicastLoop: return OptionSpec(34, .bool)
        case .multicastTTL: return OptionSpec(33, .int)
        case .nodefrag: return OptionSpec(22, .bool)
        case .options: return OptionSpec(4, .bytes)
        case .pktinfo: return OptionSpec(8, .bool)
        case .recverr: return OptionSpec(11, .bool)
        case .recvopts: return OptionSpec(6, .bool)
        case .recvorigdstaddr: return OptionSpec(20, .bool)
        case .recvtos: return OptionSpec(13, .bool)
        case .recvttl: return OptionSpec(12, .bool)
        case .retopts: return OptionSpec(7, .bool)
        case .routerAlert: return OptionSpec(5, .int)
        case .tos: return OptionSpec(1, .tos)
        case .transparent: return OptionSpec(19, .bool)
        case .ttl: return OptionSpec(2, .int)
        case .unblockSource: return OptionSpec(37, .ipMreqSource, .setOnly)
        }
    }
}
