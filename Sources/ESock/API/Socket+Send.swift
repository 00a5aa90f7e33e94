extension Socket {
    /// Sends without waiting (Erlang: `send(Socket, Data, Flags, nowait | Handle)`).
    ///
    /// Returns `.done` with the data not accepted (empty: all sent; only a non-stream socket can
    /// leave any). Select backend: `.select`, with the data still to send as `partial` when some
    /// was sent (call again with it after the select message); completion backend:
    /// `.completion`, and the message says ``CompletionStatus/sent`` once all of it was sent.
    public func send(_ data: [UInt8], flags: MessageFlags = [], nowait mailbox: Mailbox,
                     handle: Handle? = nil) throws(SocketError) -> Pending<[UInt8]> {
        let model = backend.model
        func operation(_ handle: Handle) -> Operation {
            let op = Operation(.send, tag: .send, handle: handle, mailbox: mailbox, socket: self)
            op.flags = flags.rawValue
            return op
        }
        // Array.withUnsafeBytes rethrows untyped errors: the typed one goes through a Result.
        let direct = data.withUnsafeBytes { bytes in
            var sent = 0
            return Result { () throws(SocketError) -> Pending<OperationValue>? in
                try startDirect(.send, mailbox: mailbox, handle: handle, { st in
                    st.counters.add(.writeTries)
                    return sendNow(bytes, flags: flags.rawValue, sent: &sent, &st)
                }, make: { handle, _ in
                    let op = operation(handle)
                    // Completion: the kernel sends the rest from the operation's own copy.
                    // Select: the caller calls again with the rest, so no copy is kept.
                    if model == .completion { op.setOutgoing(UnsafeRawBufferPointer(rebasing: bytes[sent...])) }
                    return op
                })
            }
        }
        let pending: Pending<OperationValue>
        if let direct = try direct.get() {
            pending = direct
        } else {
            let op = operation(handle ?? .make())
            data.withUnsafeBytes { op.setOutgoing($0) }
            pending = try start(op)
        }
        return pending.map(\.bytes)
    }

    /// Sends all of `data`, waiting at most `timeout` (Erlang: `send/2,3,4`).
    ///
    /// Partial sends are continued until everything went. Returns what was not sent (empty when
    /// all went); on timeout or error after part went, the error carries the rest
    /// (``SocketError/Partial/rest(_:)``).
    @discardableResult
    public func send(_ data: [UInt8], flags: MessageFlags = [], timeout: Timeout = .infinity) throws(SocketError) -> [UInt8] {
        try perform(SendCall(data: data, flags: flags), timeout: timeout)
    }

    /// Sends all of `data`, suspending the task until it went (Erlang: `send/3` with `nowait`,
    /// then the select or completion messages; no thread is blocked).
    ///
    /// Cancelling the task cancels the send (Erlang: `cancel/2`) and throws
    /// ``SocketError/Reason/cancelled`` with the data not sent.
    public nonisolated(nonsending) func send(_ data: [UInt8], flags: MessageFlags = []) async throws(SocketError) {
        _ = try await perform(SendCall(data: data, flags: flags))
    }
}

/// send and sendto: continues partial sends with the rest until all of the data went.
struct SendCall: SocketCall {
    let data: [UInt8]
    let flags: MessageFlags
    /// sendto: where to send.
    let destination: SocketAddress?
    var rest: [UInt8]
    var tag: OperationTag { destination == nil ? .send : .sendto }

    init(data: [UInt8], flags: MessageFlags, to destination: SocketAddress? = nil) {
        self.data = data
        self.flags = flags
        self.destination = destination
        rest = data
    }

    mutating func attempt(_ socket: Socket, _ mailbox: Mailbox) throws(SocketError) -> CallStep<[UInt8]> {
        let handle = Handle.make()
        let pending = if let destination {
            try socket.sendto(rest, to: destination, flags: flags, nowait: mailbox, handle: handle)
        } else {
            try socket.send(rest, flags: flags, nowait: mailbox, handle: handle)
        }
        switch pending {
        case .done(let r): return .done(r)
        case .select(_, let partial): rest = partial ?? rest
        case .completion: break
        }
        return .wait(handle)
    }

    func finish(_ status: CompletionStatus) throws(SocketError) -> [UInt8] {
        switch status {
        case .sent: return []
        case .failed(let e): throw e
        default: throw .invalid("send completed with \(status)")
        }
    }

    /// A completion-backend operation holds the exact rest; a select-backend one holds no data
    /// (the call itself keeps the rest).
    func partial(at cancelled: Operation) -> SocketError.Partial? {
        if let message = cancelled.message { return .rest(Array(message.rest.joined())) }
        return cancelled.outgoing == nil ? .rest(rest) : .rest(Array(cancelled.unsent))
    }

    func decorate(_ error: SocketError) -> SocketError {
        guard error.partial == nil, error.reason != .timeout, rest.count < data.count else { return error }
        return SocketError(error.reason, partial: .rest(rest))
    }
}
