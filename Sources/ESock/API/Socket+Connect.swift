#if canImport(Glibc)
import Glibc
#endif

extension Socket {
    /// Connects without waiting (Erlang: `connect(Socket, SockAddr, nowait | Handle)`).
    ///
    /// Returns `.done` when connected at once. Select backend: `.select`, and after the select
    /// message ``connect()`` finalizes the connection. Completion backend: `.completion`, and the
    /// completion message says ``CompletionStatus/connected`` or why it failed. Throws
    /// ``SocketError/Reason/already`` when another caller's connect is in progress.
    public func connect(_ address: SocketAddress, nowait mailbox: Mailbox, handle: Handle? = nil) throws(SocketError) -> Pending<Void> {
        try startConnect(address, caller: .mailbox(mailbox), handle: handle, mayWait: true).pending().map { _ in () }
    }

    /// The nowait connect; `mayWait` false: tried once, never queued or armed.
    func startConnect(_ address: SocketAddress, caller: Caller, handle: Handle?, mayWait: Bool) throws(SocketError) -> Started {
        let op = Operation(.connect, tag: .connect, handle: handle ?? .make(), caller: caller, socket: self)
        let storage = UnsafeMutablePointer<sockaddr_storage>.allocate(capacity: 1)
        op.address = storage
        op.addressLength = try address.encode(into: &storage.pointee)
        return try start(op, mayWait: mayWait)
    }

    /// Finalizes a connect that answered `.select`, after its select message (Erlang: `connect/1`).
    public func connect() throws(SocketError) {
        let pending = try state.withLock { (st: inout SocketState) throws(SocketError) -> Operation? in
            guard !st.closed else { throw .closed }
            return st[current: .connectors]
        }
        // Only a model whose callers call again has a connect to finalize; on the completion
        // backend the completion message says how the connect ended.
        guard let op = pending, backend.rules.callsAgain else {
            throw .invalid("no connect to finalize")
        }
        switch try start(Operation(.connect, tag: .connect, handle: op.handle, caller: op.caller, socket: self)) {
        case .done: return
        case .pending, .wouldBlock: throw .posix(EINPROGRESS)
        }
    }

    /// Connects to `address`, waiting at most `timeout` (Erlang: `connect/2,3`). After a timeout
    /// the connection state is uncertain: close the socket and start over.
    public func connect(_ address: SocketAddress, timeout: Timeout = .infinity) throws(SocketError) {
        try perform(ConnectCall(address: address), timeout: timeout)
    }

    /// Connects to `address`, suspending the task until the connection is made (Erlang:
    /// `connect/3` with `nowait`, then the message and, on select, the finalizing `connect/1`; no
    /// thread is blocked). Cancelling the task cancels the connect (Erlang: `cancel/2`) and
    /// throws ``SocketError/Reason/cancelled``.
    public nonisolated(nonsending) func connect(_ address: SocketAddress, timeout: Timeout = .infinity) async throws(SocketError) {
        try await perform(ConnectCall(address: address), timeout: timeout)
    }
}

/// connect: the first attempt starts the connection; after a select message the finalizing
/// attempt (the seed's connect/1) reads its outcome, under the same handle.
struct ConnectCall: SocketCall {
    let address: SocketAddress
    var handle: Handle?
    var tag: OperationTag { .connect }

    init(address: SocketAddress) { self.address = address }

    mutating func attempt(_ socket: Socket, _ caller: Caller, mayWait: Bool) throws(SocketError) -> CallStep<Void> {
        if let handle {
            let op = Operation(.connect, tag: .connect, handle: handle, caller: caller, socket: socket)
            return try socket.start(op, mayWait: mayWait).step { _ in () }
        }
        let h = Handle.make()
        handle = h
        return try socket.startConnect(address, caller: caller, handle: h, mayWait: mayWait).step { _ in () }
    }

    func finish(_ status: CompletionStatus) throws(SocketError) {
        switch status {
        case .connected: return
        case .failed(let e): throw e
        default: throw .invalid("connect completed with \(status)")
        }
    }
}
