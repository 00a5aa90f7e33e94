extension Socket {
    /// Receives a message with its control messages without waiting
    /// (Erlang: `recvmsg(Socket, BufSz, CtrlSz, Flags, nowait | Handle)`; C: recvmsg(2), on the
    /// completion backend `IORING_OP_RECVMSG`).
    ///
    /// `bufferSize` 0 uses the socket's default (Erlang's `{otp, rcvbuf}`), `controlSize` 0 its
    /// control default (`{otp, rcvctrlbuf}`, 1024 bytes). When the data or the control messages do
    /// not fit, the message's ``Msg/flags`` say so (``MessageFlags/trunc``,
    /// ``MessageFlags/ctrunc``). Returns `.done` at once, or `.select` (call again after the select
    /// message) or `.completion` (the message carries ``CompletionStatus/receivedMessage(_:)``).
    public func recvmsg(bufferSize: Int = 0, controlSize: Int = 0, flags: MessageFlags = [],
                        nowait mailbox: Mailbox, handle: Handle? = nil) throws(SocketError) -> Pending<Msg> {
        try startRecvmsg(bufferSize, controlSize, flags, .mailbox(mailbox), handle, mayWait: true).pending().map { $0.message }
    }

    /// The nowait recvmsg; `mayWait` false: tried once, never queued or armed.
    func startRecvmsg(_ bufferSize: Int, _ controlSize: Int, _ flags: MessageFlags, _ caller: Caller,
                      _ handle: Handle?, mayWait: Bool) throws(SocketError) -> Started {
        let (size, control) = try receiveSizes(bufferSize, controlSize)
        let message = MessageIO(receiving: size, controlSize: control)
        return try startMessage(.recv, .recvmsg, message, flags: flags, caller: caller, handle: handle, mayWait: mayWait)
    }

    /// Receives a message with its control messages, waiting at most `timeout`
    /// (Erlang: `recvmsg/1,2,3,4,5`).
    public func recvmsg(bufferSize: Int = 0, controlSize: Int = 0, flags: MessageFlags = [],
                        timeout: Timeout = .infinity) throws(SocketError) -> Msg {
        try perform(recvmsgCall(bufferSize, controlSize, flags), timeout: timeout)
    }

    /// Receives a message with its control messages, suspending the task until it arrives
    /// (Erlang: `recvmsg/5` with `nowait`, then the select or completion message). Cancelling the
    /// task cancels the receive and throws ``SocketError/Reason/cancelled``.
    public nonisolated(nonsending) func recvmsg(bufferSize: Int = 0, controlSize: Int = 0, flags: MessageFlags = [],
                                                timeout: Timeout = .infinity) async throws(SocketError) -> Msg {
        try await perform(recvmsgCall(bufferSize, controlSize, flags), timeout: timeout)
    }

    private func recvmsgCall(_ bufferSize: Int, _ controlSize: Int, _ flags: MessageFlags) -> ReceiveMessageCall<Msg> {
        ReceiveMessageCall(tag: .recvmsg, call: { (socket, mailbox, handle, mayWait) throws(SocketError) in
            try socket.startRecvmsg(bufferSize, controlSize, flags, mailbox, handle, mayWait: mayWait)
        }, convert: { $0.message }, value: { status in
            if case .receivedMessage(let m) = status { return m }
            return nil
        })
    }
}
