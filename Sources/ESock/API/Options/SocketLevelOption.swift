/// The options of protocol level `socket` (`SOL_SOCKET`, C names `SO_*`): Erlang's
/// `{socket, Opt}` options. The raw value is Erlang's name. Options that Linux lacks
/// (`acceptfilter`, `bsp_state`, `exclusiveaddruse`, `maxdg`, `max_msg_size`, `setfib`) are
/// listed, as the seed lists them, and answer ``SocketError/Reason/notSupported``.
public enum SocketLevelOption: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// `SO_ACCEPTCONN`: boolean, get only.
    case acceptconn
    /// Not a Linux option (`notSupported`).
    case acceptfilter
    /// `SO_BINDTODEVICE`: a name (`.string`).
    case bindtodevice
    /// `SO_BROADCAST`: boolean.
    case broadcast
    /// Not a Linux option (`notSupported`).
    case bspState = "bsp_state"
    /// `SO_BUSY_POLL`: integer.
    case busyPoll = "busy_poll"
    /// `SO_DEBUG`: integer.
    case debug
    /// `SO_DOMAIN`: a domain (`.domain`), get only.
    case domain
    /// `SO_DONTROUTE`: boolean.
    case dontroute
    /// `SO_ERROR`: integer, get only.
    case error
    /// Not a Linux option (`notSupported`).
    case exclusiveaddruse
    /// `SO_KEEPALIVE`: boolean.
    case keepalive
    /// `SO_LINGER`: `.linger`.
    case linger
    /// `SO_MARK`: integer.
    case mark
    /// Not a Linux option (`notSupported`).
    case maxdg
    /// Not a Linux option (`notSupported`).
    case maxMsgSize = "max_msg_size"
    /// `SO_OOBINLINE`: boolean.
    case oobinline
    /// `SO_PASSCRED`: boolean.
    case passcred
    /// `SO_PEEK_OFF`: integer.
    case peekOff = "peek_off"
    /// `SO_PEERCRED`: `.credentials` (`struct ucred`), get only.
    case peercred
    /// `SO_PRIORITY`: integer.
    case priority
    /// `SO_PROTOCOL`: a protocol (`.protocol`), get only.
    case `protocol`
    /// `SO_RCVBUF`: integer.
    case rcvbuf
    /// `SO_RCVBUFFORCE`: integer.
    case rcvbufforce
    /// `SO_RCVLOWAT`: integer.
    case rcvlowat
    /// `SO_RCVTIMEO`: `.timeval`.
    case rcvtimeo
    /// `SO_REUSEADDR`: boolean.
    case reuseaddr
    /// `SO_REUSEPORT`: boolean.
    case reuseport
    /// `SO_RXQ_OVFL`: boolean.
    case rxqOvfl = "rxq_ovfl"
    /// Not a Linux option (`notSupported`).
    case setfib
    /// `SO_SNDBUF`: integer.
    case sndbuf
    /// `SO_SNDBUFFORCE`: integer.
    case sndbufforce
    /// `SO_SNDLOWAT`: integer.
    case sndlowat
    /// `SO_SNDTIMEO`: `.timeval`.
    case sndtimeo
    /// `SO_TIMESTAMP`: boolean.
    case timestamp
    /// `SO_TYPE`: a socket type (`.type`), get only.
    case type

    /// Erlang's name.
    public var description: String { rawValue }

    var spec: OptionSpec {
        switch self {
        case .acceptconn: return OptionSpec(30, .bool, .getOnly)
        case .acceptfilter, .bspState, .exclusiveaddruse, .maxdg, .maxMsgSize, .setfib: return OptionSpec(nil, .int)
        case .bindtodevice: return OptionSpec(25, .string)
        case .broadcast: return OptionSpec(6, .bool)
        case .busyPoll: return OptionSpec(46, .int)
        case .debug: return OptionSpec(1, .int)
        case .domain: return OptionSpec(39, .domain, .getOnly)
        case .dontroute: return OptionSpec(5, .bool)
        case .error: return OptionSpec(4, .int, .getOnly)
        case .keepalive: return OptionSpec(9, .bool)
        case .linger: return OptionSpec(13, .linger)
        case .mark: return OptionSpec(36, .int)
        case .oobinline: return OptionSpec(10, .bool)
        case .passcred: return OptionSpec(16, .bool)
        case .peekOff: return OptionSpec(42, .int)
        case .peercred: return OptionSpec(17, .credentials, .getOnly)
        case .priority: return OptionSpec(12, .int)
        case .protocol: return OptionSpec(38, .protocol, .getOnly)
        case .rcvbuf: return OptionSpec(8, .int)
        case .rcvbufforce: return OptionSpec(33, .int)
        case .rcvlowat: return OptionSpec(18, .int)
        case .rcvtimeo: return OptionSpec(20, .timeval)
        case .reuseaddr: return OptionSpec(2, .bool)
        case .reuseport: return OptionSpec(15, .bool)
        case .rxqOvfl: return OptionSpec(40, .bool)
        case .sndbuf: return OptionSpec(7, .int)
        case .sndbufforce: return OptionSpec(32, .int)
        case .sndlowat: return OptionSpec(19, .int)
        case .sndtimeo: return OptionSpec(21, .timeval)
        case .timestamp: return OptionSpec(29, .bool)
        case .type: return OptionSpec(3, .type, .getOnly)
        }
    }
}
