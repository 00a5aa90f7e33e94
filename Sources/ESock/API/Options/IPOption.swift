/// The options of protocol level `ip` (`IPPROTO_IP`, C names `IP_*`): Erlang's `{ip, Opt}`
/// options. The raw value is Erlang's name. Options Linux lacks (`dontfrag`, `recvdstaddr`,
/// `recvif`, `sndsrcaddr`: BSD's) answer ``SocketError/Reason/notSupported``.
public enum IPOption: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// `IP_ADD_MEMBERSHIP`: `.ipMreq`, set only.
    case addMembership = "add_membership"
    /// `IP_ADD_SOURCE_MEMBERSHIP`: `.ipMreqSource`, set only.
    case addSourceMembership = "add_source_membership"
    /// `IP_BLOCK_SOURCE`: `.ipMreqSource`, set only.
    case blockSource = "block_source"
    /// Not a Linux option (`notSupported`).
    case dontfrag
    /// `IP_DROP_MEMBERSHIP`: `.ipMreq`, set only.
    case dropMembership = "drop_membership"
    /// `IP_DROP_SOURCE_MEMBERSHIP`: `.ipMreqSource`, set only.
    case dropSourceMembership = "drop_source_membership"
    /// `IP_FREEBIND`: boolean.
    case freebind
    /// `IP_HDRINCL`: boolean.
    case hdrincl
    /// `IP_MINTTL`: integer.
    case minttl
    /// `IP_MSFILTER`: `.ipMsfilter`, set only.
    case msfilter
    /// `IP_MTU`: integer, get only.
    case mtu
    /// `IP_MTU_DISCOVER`: `.pmtudisc` or an integer.
    case mtuDiscover = "mtu_discover"
    /// `IP_MULTICAST_ALL`: boolean.
    case multicastAll = "multicast_all"
    /// `IP_MULTICAST_IF`: an IPv4 address (`.ipv4`).
    case multicastIf = "multicast_if"
    /// `IP_MULTICAST_LOOP`: boolean.
    case multicastLoop = "multicast_loop"
    /// `IP_MULTICAST_TTL`: integer.
    case multicastTTL = "multicast_ttl"
    /// `IP_NODEFRAG`: boolean.
    case nodefrag
    /// `IP_OPTIONS`: the C structure as `.bytes`.
    case options
    /// `IP_PKTINFO`: boolean.
    case pktinfo
    /// Not a Linux option (`notSupported`).
    case recvdstaddr
    /// `IP_RECVERR`: boolean.
    case recverr
    /// Not a Linux option (`notSupported`).
    case recvif
    /// `IP_RECVOPTS`: boolean.
    case recvopts
    /// `IP_RECVORIGDSTADDR`: boolean.
    case recvorigdstaddr
    /// `IP_RECVTOS`: boolean.
    case recvtos
    /// `IP_RECVTTL`: boolean.
    case recvttl
    /// `IP_RETOPTS`: boolean.
    case retopts
    /// `IP_ROUTER_ALERT`: integer.
    case routerAlert = "router_alert"
    /// Not a Linux option (`notSupported`).
    case sndsrcaddr
    /// `IP_TOS`: `.tos` or an integer.
    case tos
    /// `IP_TRANSPARENT`: boolean.
    case transparent
    /// `IP_TTL`: integer.
    case ttl
    /// `IP_UNBLOCK_SOURCE`: `.ipMreqSource`, set only.
    case unblockSource = "unblock_source"

    /// Erlang's name.
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
