extension Socket {
    /// Accepts a connection without waiting (Erlang: `accept(ListenSocket, nowait | Handle)`).
    ///
    /// Returns `.done` with the new socket, or `.select` / `.completion` when no connection is
    /// pending: a select message then says "call again", a completion message carries the
    /// accepted socket (``CompletionStatus/accepted(_:)``).
    public func accept(nowait mailbox: Mailbox, handle: Handle? = nil) throws(SocketError) -> Pending<Socket> {
        let op = Operation(.accept, tag: .accept, handle: handle ?? .make(), mailbox: mailbox, socket: self)
        switch try start(op) {
        case .done(.socket(let s)): return .done(s)
        case .done: throw .invalid("accept finished without a socket")
        case .select(let info, _): return .select(info, partial: nil)
        case .completion(let info): return .completion(info)
        }
    }

    /// Accepts a connection, waiting at most `timeout` (Erlang: `accept/1,2`).
    public func accept(timeout: Timeout = .infinity) throws(SocketError) -> Socket {
        let deadline = timeout.deadline()
        let mailbox = PrivateMailbox.current
        while true {
            let handle = Handle.make()
            switch try accept(nowait: mailbox, handle: handle) {
            case .done(let s): return s
            case .select, .completion:
                switch try waitFor(handle, .accept, in: mailbox, until: deadline) {
                case .retry: continue
                case .completed(.accepted(let s)): return s
                case .completed(.failed(let e)): throw e
                case .completed(let other): throw .invalid("accept completed with \(other)")
                }
            }
        }
    }
}
