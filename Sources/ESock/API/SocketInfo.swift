/// What ``Socket/info()`` returns: Erlang's `socket_info()`.
public struct SocketInfo: Sendable, Hashable {
    public var domain: Domain
    public var type: SocketType
    public var `protocol`: SocketProtocol
    /// How the socket was made (Erlang: `ctype`, `normal` for open and accept).
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
}

extension Socket {
    /// The socket's current state (Erlang: `info/1`).
    public func info() -> SocketInfo {
        state.withLock { st in
            var r: [String] = [], w: [String] = []
            if st.closed { r.append("closed"); w.append("closed") }
            if st.isListening { r.append("listening") }
            if st.acceptors.count > 0 { r.append("accepting") }
            if st.readers.count > 0 { r.append("reading") }
            if st.readShut { r.append("shutdown") }
            if st.connectors.count > 0 || st.connectInProgress { w.append("connecting") }
            if st.writers.count > 0 { w.append("writing") }
            if st.writeShut { w.append("shutdown") }
            return SocketInfo(domain: domain, type: type, protocol: self.protocol, ctype: ctype,
                              counters: st.counters, numReaders: st.readers.count, numWriters: st.writers.count,
                              numAcceptors: st.acceptors.count, readable: !st.closed && !st.readShut,
                              writable: !st.closed && !st.writeShut, rstates: r, wstates: w,
                              backend: backend.name)
        }
    }
}
