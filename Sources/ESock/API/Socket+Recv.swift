extension Socket {
    /// Receives without waiting (Erlang: `recv(Socket, Length, Flags, nowait | Handle)`; C:
    /// recv(2), on the completion backend `IORING_OP_RECV`).
    ///
    /// `length` 0 means whatever is available; on a stream, `length` N asks for exactly N bytes.
    /// Returns `.done` with data at once; select backend: `.select`, with the data that came so
    /// far as `partial` when a stream had fewer than `length` bytes (call again for the rest after
    /// the select message); completion backend: `.completion`, and the message carries all the
    /// data (``CompletionStatus/received(_:)``). A stream whose peer closed fails with
    /// ``SocketError/Reason/closed``.
    public func recv(length: Int = 0, flags: MessageFlags = [], nowait mailbox: Mailbox,
                     handle: Handle? = nil) throws(SocketError) -> Pending<[UInt8]> {
        try startRecv(length: length, flags: flags, caller: .mailbox(mailbox), handle: handle, mayWait: true).pending().map { $0.bytes }
    }

    /// Receives, waiting at most `timeout` (Erlang: `recv/1,2,3,4`).
    ///
    /// `length` 0 returns the first data that arrives; on a stream, `length` N waits for N bytes.
    /// On timeout or error after some data arrived, the error carries it
    /// (``SocketError/Partial/received(_:)``); with `length` 0 the data that came is the answer
    /// instead, and so are all N bytes when the kernel finished the receive just before its
    /// cancel reached it. Data the kernel held before the deadline counts even when the backend
    /// had not reported it yet (the call reads once more before it times out). A zero timeout
    /// tries once and never waits.
    public func recv(length: Int = 0, flags: MessageFlags = [], timeout: Timeout = .infinity) throws(SocketError) -> [UInt8] {
        try perform(RecvCall(length: length, flags: flags), timeout: timeout)
    }

    /// Receives, suspending the task until the data is there (Erlang: `recv/4` with `nowait`,
    /// then the select or completion message; no thread is blocked).
    ///
    /// `length` as in ``recv(length:flags:timeout:)``. Cancelling the task cancels the receive
    /// (Erlang: `cancel/2`) and throws ``SocketError/Reason/cancelled`` with any data that came.
    public nonisolated(nonsending) func recv(length: Int = 0, flags: MessageFlags = [],
                                             timeout: Timeout = .infinity) async throws(SocketError) -> [UInt8] {
        try await perform(RecvCall(length: length, flags: flags), timeout: timeout)
    }

    /// The nowait receive: the direct path when no other caller's receive is in the way, else
    /// an operation of the general path. `mayWait` false: tried once, never queued or armed.
    /// Out of line: inlined into the nowait receive, it made that copy and destroy its answer
    /// (+115 instructions per round trip, `Benchmarks/instructions.sh select nowait`).
    @inline(never)
    func startRecv(length: Int, flags: MessageFlags, caller: Caller, handle: Handle?,
                   mayWait: Bool) throws(SocketError) -> Started {
        guard length >= 0 else { throw .invalid("length \(length)") }
        func operation(_ handle: Handle) -> Operation {
            let op = Operation(.recv, tag: .recv, handle: handle, caller: caller, socket: self)
            op.length = length
            op.flags = flags.rawValue
            return op
        }
        func attempt() throws(SocketError) -> Started {
            if let direct = try startDirect(.recv, caller: caller, handle: handle, mayWait: mayWait, { st in
                st.receiveDirect(length: length, flags: flags.rawValue, force: !mayWait)
            }, make: { handle, _ in operation(handle) }) {
                return direct
            }
            return try start(operation(handle ?? .make()), mayWait: mayWait)
        }
        let started = try attempt()
        // A zero timeout's one try: what the kernel's side already holds counts.
        guard case .wouldBlock(let partial) = started, partial == nil, backend.catchUp(self) else { return started }
        return try attempt()
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

    mutating func attempt(_ socket: Socket, _ caller: Caller, mayWait: Bool) throws(SocketError) -> CallStep<[UInt8]> {
        let handle = Handle.make()
        let started = try socket.startRecv(length: length == 0 ? 0 : length - data.count, flags: flags,
                                           caller: caller, handle: handle, mayWait: mayWait)
        if case .done(let d) = started { return .done(data.isEmpty ? d.bytes : data + d.bytes) }
        if let partial = started.partial?.bytes, !partial.isEmpty { data += partial }
        return started.step { $0.bytes }
    }

    func finish(_ status: CompletionStatus) throws(SocketError) -> [UInt8] {
        switch status {
        case .received(let d): return data.isEmpty ? d : data + d
        case .failed(let e): throw e
        default: throw .invalid("recv completed with \(status)")
        }
    }

    func partial(at cancelled: Operation) -> SocketError.Partial? {
        cancelled.received.isEmpty ? nil : .received(cancelled.received)
    }

    func decorate(_ error: SocketError) -> SocketError { error.prepending(received: data) }

    /// A receive of whatever is available answers a timeout with the data that came (OTP); a
    /// receive of N bytes given up after all N came (the kernel finished it before the cancel
    /// reached it) answers with them.
    func value(givenUp reason: SocketError.Reason, with partial: SocketError.Partial?) -> [UInt8]? {
        guard case .received(let d)? = partial, !d.isEmpty else { return nil }
        if length == 0 { return reason == .timeout ? d : nil }
        return d.count >= length ? d : nil
    }
}
