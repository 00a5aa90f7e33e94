extension Socket {
    /// Accepts a connection without waiting (Erlang: `accept(ListenSocket, nowait | Handle)`).
    ///
    /// Returns `.done` with the new socket, or `.select` / `.completion` when no connection is
    /// pending: a select message then says "call again", a completion message carries the
    /// accepted socket (``CompletionStatus/accepted(_:)``). An accepted socket belongs to the
    /// listener's owner (``owner``) and is registered as the listener is; hand it to another
    /// owner with ``setControllingProcess(_:by:)``.
    public func accept(nowait mailbox: Mailbox, handle: Handle? = nil) throws(SocketError) -> Pending<Socket> {
        switch try startAccept(caller: .mailbox(mailbox), handle: handle, mayWait: true).pending() {
        case .done(.socket(let s)): return .done(s)
        case .done: throw .invalid("accept finished without a socket")
        case .select(let info, _): return .select(info, partial: nil)
        case .completion(let info): return .completion(info)
        }
    }

    /// The nowait accept; `mayWait` false: tried once, never queued or armed.
    func startAccept(caller: Caller, handle: Handle?, mayWait: Bool) throws(SocketError) -> Started {
        try start(Operation(.accept, tag: .accept, handle: handle ?? .make(), caller: caller, socket: self), mayWait: mayWait)
    }

    /// Accepts a connection, waiting at most `timeout` (Erlang: `accept/1,2`).
    public func accept(timeout: Timeout = .infinity) throws(SocketError) -> Socket {
        try perform(AcceptCall(), timeout: timeout)
    }

    /// Accepts a connection, suspending the task until one comes (Erlang: `accept/2` with
    /// `nowait`, then the select or completion message; no thread is blocked). Cancelling the
    /// task cancels the accept (Erlang: `cancel/2`) and throws ``SocketError/Reason/cancelled``.
    public nonisolated(nonsending) func accept(timeout: Timeout = .infinity) async throws(SocketError) -> Socket {
        try await perform(AcceptCall(), timeout: timeout)
    }
}

/// accept: tries again after each select message.
struct AcceptCall: SocketCall {
    var tag: OperationTag { .accept }

    func attempt(_ socket: Socket, _ caller: Caller, mayWait: Bool) throws(SocketError) -> CallStep<Socket> {
        let started = try socket.startAccept(caller: caller, handle: Handle.make(), mayWait: mayWait)
        if case .done(let v) = started, case .socket(let s) = v { return .done(s) }
        if case .done = started { throw .invalid("accept finished without a socket") }
        return started.step { _ in preconditionFailure("not done") }
    }

    func finish(_ status: CompletionStatus) throws(SocketError) -> Socket {
        switch status {
        case .accepted(let s): return s
        case .failed(let e): throw e
        default: throw .invalid("accept completed with \(status)")
        }
    }
}
