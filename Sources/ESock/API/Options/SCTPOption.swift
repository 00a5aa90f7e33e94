/// The options of protocol level `sctp` (`IPPROTO_SCTP`, C names `SCTP_*` of Linux's
/// `<linux/sctp.h>`): Erlang's `{sctp, Opt}` options. The raw value is Erlang's name.
///
/// The integer and boolean options take ``OptionValue/int(_:)`` and ``OptionValue/bool(_:)``;
/// the structured ones (`associnfo`, `initmsg`, `rtoinfo`, `events`, ...) take their C structure
/// as ``OptionValue/bytes(_:)``. They work only where the kernel has SCTP (see
/// ``ESock/isSupported(_:)``); `auth_asconf`, `explicit_eor` and `use_ext_recvinfo` are not
/// Linux options.
public enum SCTPOption: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// `SCTP_ADAPTATION_LAYER`: the C structure as `.bytes`.
    case adaptionLayer = "adaption_layer"
    /// `SCTP_ASSOCINFO`: the C structure as `.bytes`.
    case associnfo
    /// `SCTP_AUTH_ACTIVE_KEY`: the C structure as `.bytes`.
    case authActiveKey = "auth_active_key"
    /// Not a Linux option (`notSupported`).
    case authAsconf = "auth_asconf"
    /// `SCTP_AUTH_CHUNK`: the C structure as `.bytes`, set only.
    case authChunk = "auth_chunk"
    /// `SCTP_AUTH_KEY`: the C structure as `.bytes`, set only.
    case authKey = "auth_key"
    /// `SCTP_AUTH_DELETE_KEY`: the C structure as `.bytes`, set only.
    case authDeleteKey = "auth_delete_key"
    /// `SCTP_AUTOCLOSE`: integer.
    case autoclose
    /// `SCTP_CONTEXT`: the C structure as `.bytes`.
    case context
    /// `SCTP_DEFAULT_SEND_PARAM`: the C structure as `.bytes`.
    case defaultSendParams = "default_send_params"
    /// `SCTP_DELAYED_ACK_TIME`: the C structure as `.bytes`.
    case delayedAckTime = "delayed_ack_time"
    /// `SCTP_DISABLE_FRAGMENTS`: boolean.
    case disableFragments = "disable_fragments"
    /// `SCTP_HMAC_IDENT`: the C structure as `.bytes`.
    case hmacIdent = "hmac_ident"
    /// `SCTP_EVENTS`: the C structure as `.bytes`, set only.
    case events
    /// Not a Linux option (`notSupported`).
    case explicitEor = "explicit_eor"
    /// `SCTP_FRAGMENT_INTERLEAVE`: integer.
    case fragmentInterleave = "fragment_interleave"
    /// `SCTP_GET_PEER_ADDR_INFO`: the C structure as `.bytes`, get only.
    case getPeerAddrInfo = "get_peer_addr_info"
    /// `SCTP_INITMSG`: the C structure as `.bytes`.
    case initmsg
    /// `SCTP_I_WANT_MAPPED_V4_ADDR`: boolean.
    case iWantMappedV4Addr = "i_want_mapped_v4_addr"
    /// `SCTP_LOCAL_AUTH_CHUNKS`: the C structure as `.bytes`, get only.
    case localAuthChunks = "local_auth_chunks"
    /// `SCTP_MAXSEG`: integer.
    case maxseg
    /// `SCTP_MAX_BURST`: integer.
    case maxburst
    /// `SCTP_NODELAY`: boolean.
    case nodelay
    /// `SCTP_PARTIAL_DELIVERY_POINT`: integer.
    case partialDeliveryPoint = "partial_delivery_point"
    /// `SCTP_PEER_ADDR_PARAMS`: the C structure as `.bytes`.
    case peerAddrParams = "peer_addr_params"
    /// `SCTP_PEER_AUTH_CHUNKS`: the C structure as `.bytes`, get only.
    case peerAuthChunks = "peer_auth_chunks"
    /// `SCTP_PRIMARY_ADDR`: the C structure as `.bytes`.
    case primaryAddr = "primary_addr"
    /// `SCTP_RESET_STREAMS`: the C structure as `.bytes`, set only.
    case resetStreams = "reset_streams"
    /// `SCTP_RTOINFO`: the C structure as `.bytes`.
    case rtoinfo
    /// `SCTP_SET_PEER_PRIMARY_ADDR`: the C structure as `.bytes`, set only.
    case setPeerPrimaryAddr = "set_peer_primary_addr"
    /// `SCTP_STATUS`: the C structure as `.bytes`, get only.
    case status
    /// Not a Linux option (`notSupported`).
    case useExtRecvinfo = "use_ext_recvinfo"

    /// Erlang's name.
    public var description: String { rawValue }

    var spec: OptionSpec {
        switch self {
        case .rtoinfo: return OptionSpec(0, .bytes)
        case .associnfo: return OptionSpec(1, .bytes)
        case .initmsg: return OptionSpec(2, .bytes)
        case .nodelay: return OptionSpec(3, .bool)
        case .autoclose: return OptionSpec(4, .int)
        case .setPeerPrimaryAddr: return OptionSpec(5, .bytes, .setOnly)
        case .primaryAddr: return OptionSpec(6, .bytes)
        case .adaptionLayer: return OptionSpec(7, .bytes)
        case .disableFragments: return OptionSpec(8, .bool)
        case .peerAddrParams: return OptionSpec(9, .bytes)
        case .defaultSendParams: return OptionSpec(10, .bytes)
        case .events: return OptionSpec(11, .bytes, .setOnly)
        case .iWantMappedV4Addr: return OptionSpec(12, .bool)
        case .maxseg: return OptionSpec(13, .int)
        case .status: return OptionSpec(14, .bytes, .getOnly)
        case .getPeerAddrInfo: return OptionSpec(15, .bytes, .getOnly)
        case .delayedAckTime: return OptionSpec(16, .bytes)
        case .context: return OptionSpec(17, .bytes)
        case .fragmentInterleave: return OptionSpec(18, .int)
        case .partialDeliveryPoint: return OptionSpec(19, .int)
        case .maxburst: return OptionSpec(20, .int)
        case .authChunk: return OptionSpec(21, .bytes, .setOnly)
        case .hmacIdent: return OptionSpec(22, .bytes)
        case .authKey: return OptionSpec(23, .bytes, .setOnly)
        case .authActiveKey: return OptionSpec(24, .bytes)
        case .authDeleteKey: return OptionSpec(25, .bytes, .setOnly)
        case .peerAuthChunks: return OptionSpec(26, .bytes, .getOnly)
        case .localAuthChunks: return OptionSpec(27, .bytes, .getOnly)
        case .resetStreams: return OptionSpec(119, .bytes, .setOnly)
        case .authAsconf, .explicitEor, .useExtRecvinfo: return OptionSpec(nil, .bytes)
        }
    }
}
