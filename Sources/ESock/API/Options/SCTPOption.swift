/// The options of protocol level `sctp` (`IPPROTO_SCTP`, C names `SCTP_*` of Linux's
/// `<linux/sctp.h>`): Erlang's `{sctp, Opt}` options. The raw value is Erlang's name.
///
/// The integer and boolean options take ``OptionValue/int(_:)`` and ``OptionValue/bool(_:)``;
/// the structured ones (`associnfo`, `initmsg`, `rtoinfo`, `events`, ...) take their C structure
/// as ``OptionValue/bytes(_:)``. They work only where the kernel has SCTP (see
/// ``ESock/isSupported(_:)``); `auth_asconf`, `explicit_eor` and `use_ext_recvinfo` are not
/// Linux options.
public enum SCTPOption: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case adaptionLayer = "adaption_layer", associnfo, authActiveKey = "auth_active_key"
    case authAsconf = "auth_asconf", authChunk = "auth_chunk", authKey = "auth_key"
    case authDeleteKey = "auth_delete_key", autoclose, context, defaultSendParams = "default_send_params"
    case delayedAckTime = "delayed_ack_time", disableFragments = "disable_fragments"
    case hmacIdent = "hmac_ident", events, explicitEor = "explicit_eor"
    case fragmentInterleave = "fragment_interleave", getPeerAddrInfo = "get_peer_addr_info", initmsg
    case iWantMappedV4Addr = "i_want_mapped_v4_addr", localAuthChunks = "local_auth_chunks", maxseg
    case maxburst, nodelay, partialDeliveryPoint = "partial_delivery_point"
    case peerAddrParams = "peer_addr_params", peerAuthChunks = "peer_auth_chunks"
    case primaryAddr = "primary_addr", resetStreams = "reset_streams", rtoinfo
    case setPeerPrimaryAddr = "set_peer_primary_addr", status, useExtRecvinfo = "use_ext_recvinfo"

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
