extension Socket {
    /// Sends a message without waiting (Erlang: `sendmsg(Socket, Msg, Flags, nowait | Handle)`;
    /// C: sendmsg(2), on the completion backend `IORING_OP_SENDMSG`).
    ///
    /// The I/O vector keeps its elements (it is copied once, element by element). When it has
    /// more elements than the platform allows (``LibraryInfo/iovMax``), a stream sends it in
    /// several calls and any other socket type fails with `invalid`, as the seed says. The control
    /// messages are encoded (a malformed one is an `invalid` error) and go with the first part
    /// sent. Returns `.done` with the part of the I/O vector not sent (empty: all of it).
    /// Select backend: `.select`, with that rest as `partial` when part of a stream's message
    /// went (Erlang's `sendmsg(Socket, Data, Cont)`: call again with `Msg(iov: rest)`);
    /// completion backend: `.completion`, and the message says ``CompletionStatus/sent``.
    public func sendmsg(_ msg: Msg, flags: MessageFlags = [], nowait mailbox: Mailbox,
                        handle: Handle? = nil) throws(SocketError) -> Pending<[[UInt8]]> {
        try startSendmsg(msg, flags: flags, caller: .mailbox(mailbox), handle: handle, mayWait: true).pending().map { $0.iov }
    }

    /// The nowait sendmsg; `mayWait` false: tried once, never queued or armed. `tag` `.sendv`:
    /// a sendv (its rest is reported as a vector).
    func startSendmsg(_ msg: Msg, flags: MessageFlags, caller: Caller, handle: Handle?,
                      mayWait: Bool, tag: OperationTag = .sendmsg) throws(SocketError) -> Started {
        let message = try messageMemory(for: msg)
        message.restAsVector = tag == .sendv
        return try startMessage(.send, tag, message, flags: flags, caller: caller, handle: handle, mayWait: mayWait)
    }

    /// Sends a message, waiting at most `timeout` (Erlang: `sendmsg/2,3,4`).
    ///
    /// A stream's partial sends are continued until everything went. Returns the part of the I/O
    /// vector not sent (empty when all went); on timeout or error after part went, the error
    /// carries the rest as one array.
    @discardableResult
    public func sendmsg(_ msg: Msg, flags: MessageFlags = [], timeout: Timeout = .infinity) throws(SocketError) -> [[UInt8]] {
        try perform(SendMsgCall(msg: msg, flags: flags), timeout: timeout)
    }

    /// Sends a message, suspending the task until it went (Erlang: `sendmsg/4` with `nowait`,
    /// then the select or completion messages). Returns the part of the I/O vector not sent, as
    /// the blocking form does. Cancelling the task cancels the send and throws
    /// ``SocketError/Reason/cancelled`` with the data not sent.
    @discardableResult
    public nonisolated(nonsending) func sendmsg(_ msg: Msg, flags: MessageFlags = [],
                                                timeout: Timeout = .infinity) async throws(SocketError) -> [[UInt8]] {
        try await perform(SendMsgCall(msg: msg, flags: flags), timeout: timeout)
    }

    /// The memory of a sendmsg: checks the I/O vector's length and encodes the control messages.
    private func messageMemory(for msg: Msg) throws(SocketError) -> MessageIO {
        if msg.iov.count > Syscall.iovMax && type != .stream {
            throw .invalid("iov has \(msg.iov.count) elements; a \(type) socket takes at most \(Syscall.iovMax)")
        }
        let control = try ControlMessage.encode(msg.control)
        let limit = state.withLock { $0.sendControlBufferSize }
        guard control.count <= limit else {
            throw .invalid("control messages take \(control.count) bytes; the socket's sndctrlbuf is \(limit)")
        }
        return try MessageIO(sending: msg.iov, to: msg.address, control: control)
    }
}

/// sendmsg (and sendv, which is a sendmsg of the vector alone): continues a stream's partial
/// sends with the rest of the I/O vector (without the control messages, which went with the
/// first part) until all of it went.
struct SendMsgCall: SocketCall {
    let msg: Msg
    let flags: MessageFlags
    /// `.sendmsg`, or `.sendv`.
    let tag: OperationTag
    /// The part of the I/O vector still to send, once part went.
    var rest: [[UInt8]]?

    init(msg: Msg, flags: MessageFlags, tag: OperationTag = .sendmsg) {
        self.msg = msg
        self.flags = flags
        self.tag = tag
    }

    mutating func attempt(_ socket: Socket, _ caller: Caller, mayWait: Bool) throws(SocketError) -> CallStep<[[UInt8]]> {
        let next = rest.map { Msg(address: msg.address, iov: $0) } ?? msg
        let started = try socket.startSendmsg(next, flags: flags, caller: caller, handle: Handle.make(),
                                              mayWait: mayWait, tag: tag)
        if let partial = started.partial { rest = partial.iov }
        return started.step { $0.iov }
    }

    func finish(_ status: CompletionStatus) throws(SocketError) -> [[UInt8]] {
        switch status {
        case .sent: return []
        case .failed(let e): throw e
        default: throw .invalid("\(tag) completed with \(status)")
        }
    }

    func partial(at cancelled: Operation) -> SocketError.Partial? {
        .rest(Array((cancelled.message?.rest ?? rest ?? msg.iov).joined()))
    }

    func decorate(_ error: SocketError) -> SocketError {
        guard error.partial == nil, let rest else { return error }
        return SocketError(error.reason, partial: .rest(Array(rest.joined())))
    }

    /// A send given up after all of it went (the kernel finished it before the cancel reached
    /// it) succeeded.
    func value(givenUp reason: SocketError.Reason, with partial: SocketError.Partial?) -> [[UInt8]]? {
        if case .rest(let r)? = partial, r.isEmpty { return [] }
        return nil
    }
}
