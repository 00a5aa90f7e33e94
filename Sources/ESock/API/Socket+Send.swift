extension Socket {
    /// Sends without waiting (Erlang: `send(Socket, Data, Flags, nowait | Handle)`; C: send(2),
    /// on the completion backend `IORING_OP_SEND`).
    ///
    /// Returns `.done` with the data not accepted (empty: all sent; only a non-stream socket can
    /// leave any). Select backend: `.select`, with the data still to send as `partial` when some
    /// was sent (call again with it after the select message); completion backend:
    /// `.completion`, and the message says ``CompletionStatus/sent`` once all of it was sent (a
    /// ``cancel(_:)-(CompletionInfo)`` or a close before that tells the rest). On the
    /// completion backend's own thread (a loop in ``IOBackend/run(_:)`` or a task on its
    /// executor) the send goes to the kernel with the backend's next batch and always answers
    /// `.completion` (``CompletionBackend/Configuration/sendsThroughRing``); elsewhere send(2) is
    /// tried first and `.done` says it took everything.
    public func send(_ data: [UInt8], flags: MessageFlags = [], nowait mailbox: Mailbox,
                     handle: Handle? = nil) throws(SocketError) -> Pending<[UInt8]> {
        try startSend(data, flags: flags, caller: .mailbox(mailbox), handle: handle, mayWait: true).pending().map { $0.bytes }
    }

    /// Sends all of `data`, waiting at most `timeout` (Erlang: `send/2,3,4`).
    ///
    /// Partial sends are continued until everything went. Returns what was not sent (empty when
    /// all went); on timeout or error after part went, the error carries the rest
    /// (``SocketError/Partial/rest(_:)``).
    @discardableResult
    public func send(_ data: [UInt8], flags: MessageFlags = [], timeout: Timeout = .infinity) throws(SocketError) -> [UInt8] {
        try perform(SendCall(data: data, flags: flags, to: ConnectedPeer()), timeout: timeout)
    }

    /// Sends all of `data`, suspending the task until it went (Erlang: `send/3` with `nowait`,
    /// then the select or completion messages; no thread is blocked). Returns what was not sent,
    /// as the blocking form does (empty when all went; only a non-stream socket can leave any).
    ///
    /// Cancelling the task cancels the send (Erlang: `cancel/2`) and throws
    /// ``SocketError/Reason/cancelled`` with the data not sent.
    @discardableResult
    public nonisolated(nonsending) func send(_ data: [UInt8], flags: MessageFlags = [],
                                             timeout: Timeout = .infinity) async throws(SocketError) -> [UInt8] {
        try await perform(SendCall(data: data, flags: flags, to: ConnectedPeer()), timeout: timeout)
    }

    /// The nowait send: the direct path from the caller's array when no other caller's send is
    /// in the way (an operation, keeping the array when the model keeps data, is made only if it
    /// must wait), else an operation of the general path. The array is kept, not copied
    /// (``Operation/keepOutgoing(_:from:)``).
    func startSend(_ data: [UInt8], flags: MessageFlags, caller: Caller, handle: Handle?,
                   mayWait: Bool) throws(SocketError) -> Started {
        func operation(_ handle: Handle) -> Operation {
            let op = Operation(.send, tag: .send, handle: handle, caller: caller, socket: self)
            op.flags = flags.rawValue
            return op
        }
        if mayWait && backend.sendsThroughKernel(for: caller, bytes: data.count) {
            // The ring sends it with its owner's next io_uring_enter, batched with the others.
            let op = operation(handle ?? .make())
            op.keepOutgoing(data, from: 0)
            return try start(op, mayWait: true, attemptFirst: false)
        }
        let keepsData = backend.operationsKeepData
        // Array.withUnsafeBytes rethrows untyped errors: the typed one goes through a Result.
        let direct = data.withUnsafeBytes { bytes in
            var sent = 0
            return Result { () throws(SocketError) -> Started? in
                try startDirect(.send, caller: caller, handle: handle, mayWait: mayWait, { st in
                    st.sendNow(bytes, flags: flags.rawValue, sent: &sent)
                }, make: { handle, _ in
                    let op = operation(handle)
                    // The kernel sends the rest from the caller's array, which the operation
                    // keeps; a model whose caller calls again with the rest keeps nothing.
                    if keepsData { op.keepOutgoing(data, from: sent) }
                    return op
                })
            }
        }
        if let direct = try direct.get() { return direct }
        let op = operation(handle ?? .make())
        op.keepOutgoing(data, from: 0)
        return try start(op, mayWait: mayWait)
    }
}

/// Where a ``SendCall`` sends: nowhere given (send) or an address (sendto). A type, not an
/// optional address, so that a send's call stays three words (an async send keeps its call for
/// as long as it waits) without boxing sendto's address.
protocol SendDestination {
    var address: SocketAddress? { get }
}

/// send: the socket's peer.
struct ConnectedPeer: SendDestination {
    var address: SocketAddress? { nil }
}

extension SocketAddress: SendDestination {
    var address: SocketAddress? { self }
}

/// send and sendto: continues partial sends with the rest until all of the data went.
struct SendCall<Destination: SendDestination>: SocketCall {
    /// How many bytes the call was given.
    let count: Int
    let flags: MessageFlags
    let to: Destination
    var rest: [UInt8]
    var tag: OperationTag { to.address == nil ? .send : .sendto }
    var destination: SocketAddress? { to.address }

    init(data: [UInt8], flags: MessageFlags, to destination: Destination) {
        count = data.count
        self.flags = flags
        to = destination
        rest = data
    }

    mutating func attempt(_ socket: Socket, _ caller: Caller, mayWait: Bool) throws(SocketError) -> CallStep<[UInt8]> {
        let handle = Handle.make()
        let started = if let destination {
            try socket.startSendTo(rest, to: destination, flags: flags, caller: caller, handle: handle, mayWait: mayWait)
        } else {
            try socket.startSend(rest, flags: flags, caller: caller, handle: handle, mayWait: mayWait)
        }
        if case .done(let r) = started { return .done(destination == nil ? r.bytes : Array(r.iov.joined())) }
        if let partial = started.partial { rest = destination == nil ? partial.bytes : Array(partial.iov.joined()) }
        return started.step { _ in [] }
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

    /// An error after part of the data went carries the rest (Erlang: `{error, {Reason, Rest}}`).
    func decorate(_ error: SocketError) -> SocketError {
        guard error.partial == nil, rest.count < count else { return error }
        return SocketError(error.reason, partial: .rest(rest))
    }

    /// A send given up after all of it went (the kernel finished it before the cancel reached
    /// it) succeeded.
    func value(givenUp reason: SocketError.Reason, with partial: SocketError.Partial?) -> [UInt8]? {
        if case .rest(let r)? = partial, r.isEmpty { return [] }
        return nil
    }
}
