/// Which sockets ``ESock/whichSockets(_:)`` lists: Erlang's `which_sockets/1` filter rule
/// (`inet | inet6 | local | stream | dgram | seqpacket | sctp | tcp | udp | pid() | fun()`).
public enum SocketFilter: Sendable {
    /// Sockets of this domain (Erlang: `inet`, `inet6`, `local`).
    case domain(Domain)
    /// Sockets of this type (Erlang: `stream`, `dgram`, `seqpacket`).
    case type(SocketType)
    /// Sockets of this protocol (Erlang: `sctp`, `tcp`, `udp`).
    case `protocol`(SocketProtocol)
    /// Sockets this mailbox owns (Erlang: a `pid()`, the controlling process).
    case owner(Mailbox)
    /// Sockets for which the function is true (Erlang: `fun((socket_info()) -> boolean())`).
    case predicate(@Sendable (SocketInfo) -> Bool)

    func matches(_ s: Socket) -> Bool {
        switch self {
        case .domain(let d): return s.domain == d
        case .type(let t): return s.type == t
        case .protocol(let p): return s.protocol == p
        case .owner(let m): return s.owner === m
        case .predicate(let f): return f(s.info())
        }
    }
}
