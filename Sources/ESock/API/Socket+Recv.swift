extension Socket {
    /// Receives without waiting (Erlang: `recv(Socket, Length, Flags, nowait | Handle)`).
    ///
    /// `length` 0 means whatever is available; on a stream, `length` N asks for exactly N bytes.
    /// Returns `.done` with data at once; select backend: `.select`, with the data that came so
    /// far as `partial` when a stream had fewer than `length` bytes (call again for the rest after
    /// the select message); completion backend: `.completion`, and the message carries all the
    /// data (``CompletionStatus/received(_:)``). A stream whose peer closed fails with
    /// ``SocketError/Reason/closed``.
    public func recv(length: Int = 0, flags: MessageFlags = [], nowait mailbox: Mailbox,
                     handle: Handle? = nil) throws(SocketError) -> Pending<[UInt8]> {
        guard length >= 0 else { throw .invalid("length \(length)") }
        let model = backend.model
        func operation(_ handle: Handle) -> Operation {
            let op = Operation(.recv, tag: .recv, handle: handle, mailbox: mailbox, socket: self)
            op.length = length
            op.flags = flags.rawValue
            return op
        }
        var received: [UInt8] = []
        let direct = try startDirect(.recv, mailbox: mailbox, handle: handle, { st in
            st.counters.add(.readTries)
            let result = receiveNow(length: length, flags: flags.rawValue, received: &received, &st)
            if case .wait = result, !received.isEmpty { return .wait(partial: .bytes(received)) }
            return result
        }, make: { handle, partial in
            let op = operation(handle)
            // Completion: the operation keeps what came and asks the kernel for the rest.
            if model == .completion, case .bytes(let d)? = partial { op.received = d }
            return op
        })
        let pending: Pending<OperationValue>
        if let direct {
            pending = direct
        } else {
            pending = try start(operation(handle ?? .make()))
        }
        return pending.map(\.bytes)
    }

    /// Receives, waiting at most `timeout` (Erlang: `recv/1,2,3,4`).
    ///
    /// `length` 0 returns the first data that arrives; on a stream, `length` N waits for N bytes.
    /// On timeout or error after some data arrived, the error carries it
    /// (``SocketError/Partial/received(_:)``).
    public func recv(length: Int = 0, flags: MessageFlags = [], timeout: Timeout = .infinity) throws(SocketError) -> [UInt8] {
        try perform(RecvCall(length: length, flags: flags), timeout: timeout)
    }

    /// Receives, suspending the task until the data is there (Erlang: `recv/4` with `nowait`,
    /// then the select or completion message; no thread is blocked).
    ///
    /// `length` as in ``recv(length:flags:timeout:)``. Cancelling the task cancels the receive
    /// (Erlang: `cancel/2`) and throws ``SocketError/Reason/cancelled`` with any data that came.
    public nonisolated(nonsending) func recv(length: Int = 0, flags: MessageFlags = []) async throws(SocketError) -> [UInt8] {
        try await perform(RecvCall(length: length, flags: flags))
    }
}

/// recv: on a stream with `length` N, gathers what each select round brought until N bytes.
struct RecvCall: SocketCall {
    let length: Int
    let flags: MessageFlags
    var data: [UInt8] = []
    var tag: OperationTag { .recv }

    init(length: Int, flags: MessageFlags) {
        self.length = length
        self.flags = flags
    }

    mutating func attempt(_ socket: Socket, _ mailbox: Mailbox) throws(SocketError) -> CallStep<[UInt8]> {
        let handle = Handle.make()
        switch try socket.recv(length: length == 0 ? 0 : length - data.count, flags: flags, nowait: mailbox, handle: handle) {
        case .done(let d): return .done(data + d)
        case .select(_, let partial): data += partial ?? []
        case .completion: break
        }
        return .wait(handle)
    }

    func finish(_ status: CompletionStatus) throws(SocketError) -> [UInt8] {
        switch status {
        case .received(let d): return data + d
        case .failed(let e): throw e
        default: throw .invalid("recv completed with \(status)")
        }
    }

    func partial(at cancelled: Operation) -> SocketError.Partial? {
        cancelled.received.isEmpty ? nil : .received(cancelled.received)
    }

    func decorate(_ error: SocketError) -> SocketError { error.prepending(received: data) }
}
