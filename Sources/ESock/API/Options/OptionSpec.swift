/// What ESock knows of one option on Linux: its C name (`optname`), the C type of its value and
/// the directions it may be used in. The per-level option enums give it (`spec`).
struct OptionSpec: Sendable {
    /// The kind of value an option takes: the C type behind it and how ``OptionValue`` maps to it.
    enum Kind: Sendable {
        /// C `int`, 0 or 1.
        case bool
        /// C `int`.
        case int
        /// A name, passed without its terminating zero, read up to it.
        case string
        /// Bytes passed as they are (C structures ESock does not decode).
        case bytes
        /// `struct linger`.
        case linger
        /// `struct timeval`.
        case timeval
        /// C `int` holding an `IPTOS_*` value.
        case tos
        /// C `int` holding an `IP_PMTUDISC_*` value.
        case pmtudisc
        /// C `int`, -1 meaning the route's default.
        case hops
        /// `struct in_addr`.
        case ipv4
        /// `struct ip_mreq`.
        case ipMreq
        /// `struct ip_mreq_source`.
        case ipMreqSource
        /// `struct ip_msfilter`.
        case ipMsfilter
        /// `struct ipv6_mreq`.
        case ipv6Mreq
        /// C `int` holding an address family.
        case domain
        /// C `int` holding a socket type.
        case type
        /// C `int` holding a protocol number.
        case `protocol`
        /// `struct ucred`.
        case credentials
        /// `struct tcp_info`.
        case tcpInfo
    }

    /// The directions an option may be used in.
    enum Access: Sendable {
        case getAndSet, getOnly, setOnly

        var canGet: Bool { self != .setOnly }
        var canSet: Bool { self != .getOnly }
    }

    /// The Linux option name; nil when Linux has no such option.
    var name: Int32?
    var kind: Kind
    var access: Access

    init(_ name: Int32?, _ kind: Kind, _ access: Access = .getAndSet) {
        self.name = name
        self.kind = kind
        self.access = access
    }
}
