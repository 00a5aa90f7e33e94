/// A socket option's value: the value types of Erlang's `getopt/2,3` and `setopt/3,4`.
///
/// Two values are equal when they are the same case with equal payloads (`.int(5)` is not
/// `.size(5)`); mailboxes compare by identity.
public enum OptionValue: Sendable, Hashable, CustomStringConvertible {
    /// Erlang's `boolean()`: a C `int` 0 or 1.
    case bool(Bool)
    /// Erlang's `integer()`: a C `int`.
    case int(Int)
    /// A name (`{socket, bindtodevice}`, `{tcp, congestion}`).
    case string(String)
    /// Native bytes (`{ip, options}`, and options whose C type ESock does not decode).
    case bytes([UInt8])
    /// `{socket, linger}`: nil when off, else the seconds to linger (Erlang `linger()`).
    case linger(Int?)
    /// `{socket, rcvtimeo | sndtimeo}`.
    case timeval(TimeValue)
    /// `{ip, tos}`.
    case tos(IPTypeOfService)
    /// `{ip | ipv6, mtu_discover}`.
    case pmtudisc(PathMTUDiscovery)
    /// `{ipv6, unicast_hops | multicast_hops}`: nil is Erlang's `default` (only valid to set).
    case hops(Int?)
    /// `{ip, multicast_if}`.
    case ipv4(IPv4Address)
    /// `{ip, add_membership | drop_membership}`: C's `struct ip_mreq`.
    case ipMreq(multiaddr: IPv4Address, interface: IPv4Address)
    /// `{ip, add_source_membership | drop_source_membership | block_source | unblock_source}`:
    /// C's `struct ip_mreq_source`.
    case ipMreqSource(multiaddr: IPv4Address, interface: IPv4Address, sourceaddr: IPv4Address)
    /// `{ip, msfilter}`: C's `struct ip_msfilter` (mode include or exclude, the source list).
    case ipMsfilter(multiaddr: IPv4Address, interface: IPv4Address, include: Bool, sources: [IPv4Address])
    /// `{ipv6, add_membership | drop_membership | join_group | leave_group}`: `struct ipv6_mreq`.
    case ipv6Mreq(multiaddr: IPv6Address, interface: UInt32)
    /// `{socket, domain}` (get only), `{ipv6, addrform}` (set only), `{otp, domain}`.
    case domain(Domain)
    /// `{socket, type}` (get only).
    case type(SocketType)
    /// `{socket, protocol}` (get only).
    case `protocol`(SocketProtocol)
    /// `{socket, peercred}` (get only).
    case credentials(Credentials)
    /// `{tcp, info}` (get only).
    case tcpInfo(TCPInfo)
    /// `{otp, rcvbuf}`: `{N, Size}`; a nil size is Erlang's `default` (only valid to set).
    case bufferSizes(count: Int, size: Int?)
    /// `{otp, rcvctrlbuf | sndctrlbuf}`: a size; nil is Erlang's `default` (only valid to set).
    case size(Int?)
    /// `{otp, controlling_process}`.
    case mailbox(Mailbox)
    /// Erlang's `undefined`: `{otp, meta}` before it is set, `{otp, controlling_process}` of a
    /// socket with no owner.
    case undefined

    /// The value in Erlang's notation.
    public var description: String {
        switch self {
        case .bool(let b): return "\(b)"
        case .int(let n): return "\(n)"
        case .string(let s): return "\"\(s)\""
        case .bytes(let b): return "<<\(b.map(String.init).joined(separator: ","))>>"
        case .linger(let l): return l.map { "#{onoff => true, linger => \($0)}" } ?? "#{onoff => false, linger => 0}"
        case .timeval(let t): return "\(t)"
        case .tos(let t): return "\(t)"
        case .pmtudisc(let p): return "\(p)"
        case .hops(let h): return h.map { "\($0)" } ?? "default"
        case .ipv4(let a): return "\(a)"
        case .ipMreq(let m, let i): return "#{multiaddr => \(m), interface => \(i)}"
        case .ipMreqSource(let m, let i, let s): return "#{multiaddr => \(m), interface => \(i), sourceaddr => \(s)}"
        case .ipMsfilter(let m, let i, let inc, let s):
            return "#{multiaddr => \(m), interface => \(i), mode => \(inc ? "include" : "exclude"), slist => \(s)}"
        case .ipv6Mreq(let m, let i): return "#{multiaddr => \(m), interface => \(i)}"
        case .domain(let d): return "\(d)"
        case .type(let t): return "\(t)"
        case .protocol(let p): return "\(p)"
        case .credentials(let c): return "\(c)"
        case .tcpInfo(let t): return "\(t)"
        case .bufferSizes(let n, let s): return "{\(n), \(s.map { "\($0)" } ?? "default")}"
        case .size(let s): return s.map { "\($0)" } ?? "default"
        case .mailbox(let m): return "\(m)"
        case .undefined: return "undefined"
        }
    }
}
