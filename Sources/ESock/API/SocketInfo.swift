/// What ``Socket/info()`` returns: Erlang's `socket_info()`.
public struct SocketInfo: Sendable, Hashable {
    public var domain: Domain
    public var type: SocketType
    public var `protocol`: SocketProtocol
    /// How the socket was made (Erlang: `ctype`): `normal` for open and accept, `fromfd` for
    /// ``Socket/open(fd:dup:domain:type:protocol:backend:owner:useRegistry:)`` with `dup` true, and
    /// `{fromfd, N}` (N the adopted descriptor) with `dup` false.
    public var ctype: String
    public var counters: SocketCounters
    /// Receive operations in progress or queued.
    public var numReaders: Int
    /// Send and sendfile operations in progress or queued.
    public var numWriters: Int
    /// Accept operations in progress or queued.
    public var numAcceptors: Int
    /// False once the socket is closed or shut down for reading.
    public var readable: Bool
    /// False once the socket is closed or shut down for writing.
    public var writable: Bool
    /// The read side's states (`listening`, `accepting`, `reading`, `closed`, `shutdown`).
    public var rstates: [String]
    /// The write side's states (`connecting`, `writing`, `closed`, `shutdown`).
    public var wstates: [String]
    /// The name of the backend the socket runs on.
    public var backend: String
    /// The controlling process (Erlang: `owner`); nil when the socket has none.
    public var owner: Mailbox?
    /// Whether the socket is in the registry (Erlang: `use_registry` in `info/1`'s `otp` options).
    public var useRegistry: Bool

    public static func == (a: SocketInfo, b: SocketInfo) -> Bool {
        a.domain == b.domain && a.type == b.type && a.protocol == b.protocol && a.ctype == b.ctype
            && a.counters == b.counters && a.numReaders == b.numReaders && a.numWriters == b.numWriters
            && a.numAcceptors == b.numAcceptors && a.readable == b.readable && a.writable == b.writable
            && a.rstates == b.rstates && a.wstates == b.wstates && a.backend == b.backend
            && a.owner === b.owner && a.useRegistry == b.useRegistry
    }

    public func hash(into h: inout Hasher) {
        h.combine(domain); h.combine(type); h.combine(`protocol`); h.combine(ctype); h.combine(counters)
        h.combine(backend); h.combine(owner.map(ObjectIdentifier.init))
    }
}

extension Socket {
    /// The socket's current state (Erlang: `info/1`).
    public func info() -> SocketInfo {
        let (owner, registered) = ownership.withLock { ($0.owner, $0.useRegistry) }
        return state.withLock { st in
            var r: [String] = [], w: [String] = []
            if st.closed { r.append("closed"); w.append("closed") }
            if st.isListening { r.append("listening") }
            if st.count(.acceptors) > 0 { r.append("accepting") }
            if st.count(.readers) > 0 { r.append("reading") }
            if st.readShut { r.append("shutdown") }
            if st.count(.connectors) > 0 || st.connectInProgress { w.append("connecting") }
            if st.count(.writers) > 0 { w.append("writing") }
            if st.writeShut { w.append("shutdown") }
            return SocketInfo(domain: domain, type: type, protocol: self.protocol, ctype: ctype,
                              counters: st.counters, numReaders: st.count(.readers), numWriters: st.count(.writers),
                              numAcceptors: st.count(.acceptors), readable: !st.closed && !st.readShut,
                              writable: !st.closed && !st.writeShut, rstates: r, wstates: w,
                              backend: backend.name, owner: owner, useRegistry: registered)
        }
    }
}
