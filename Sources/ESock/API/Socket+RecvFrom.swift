extension Socket {
    /// Receives a message and its source without waiting
    /// (Erlang: `recvfrom(Socket, BufSz, Flags, nowait | Handle)`; C: recvmsg(2), on the completion
    /// backend `IORING_OP_RECVMSG`).
    ///
    /// `bufferSize` 0 uses the socket's default (Erlang's `{otp, rcvbuf}`, 65536 bytes); a longer
    /// datagram is truncated to it (recvmsg reports that: ``MessageFlags/trunc``). `source` is nil
    /// when the kernel gives no address (a connected stream). Returns `.done` at once, or
    /// `.select` (call again after the select message) or `.completion` (the message carries
    /// ``CompletionStatus/receivedFrom(source:data:)``).
    public func recvfrom(bufferSize: Int = 0, flags: MessageFlags = [], nowait mailbox: Mailbox,
                         handle: Handle? = nil) throws(SocketError) -> Pending<(source: SocketAddress?, data: [UInt8])> {
        try startRecvfrom(bufferSize, flags, .mailbox(mailbox), handle, mayWait: true).pending()
            .map { (source: $0.message.address, data: $0.message.data) }
    }

    /// The nowait recvfrom; `mayWait` false: tried once, never queued or armed.
    func startRecvfrom(_ bufferSize: Int, _ flags: MessageFlags, _ caller: Caller, _ handle: Handle?,
                       mayWait: Bool) throws(SocketError) -> Started {
        let (size, _) = try receiveSizes(bufferSize, 0)
        let message = MessageIO(receiving: size, controlSize: 0)
        return try startMessage(.recv, .recvfrom, message, flags: flags, caller: caller, handle: handle, mayWait: mayWait)
    }

    /// Receives a message and its source, waiting at most `timeout`
    /// (Erlang: `recvfrom/1,2,3,4`).
    public func recvfrom(bufferSize: Int = 0, flags: MessageFlags = [],
                         timeout: Timeout = .infinity) throws(SocketError) -> (source: SocketAddress?, data: [UInt8]) {
        try perform(recvfromCall(bufferSize, flags), timeout: timeout)
    }

    /// Receives a message and its source, suspending the task until it arrives (Erlang:
    /// `recvfrom/4` with `nowait`, then the select or completion message). Cancelling the task
    /// cancels the receive and throws ``SocketError/Reason/cancelled``.
    public nonisolated(nonsending) func recvfrom(bufferSize: Int = 0, flags: MessageFlags = [], timeout: Timeout = .infinity) async throws(SocketError) -> (source: SocketAddress?, data: [UInt8]) {
        try await perform(recvfromCall(bufferSize, flags), timeout: timeout)
    }

    private func recvfromCall(_ bufferSize: Int, _ flags: MessageFlags) -> ReceiveMessageCall<(source: SocketAddress?, data: [UInt8])> {
        ReceiveMessageCall(tag: .recvfrom, call: { (socket, mailbox, handle, mayWait) throws(SocketError) in
            try socket.startRecvfrom(bufferSize, flags, mailbox, handle, mayWait: mayWait)
        }, convert: { (source: $0.message.address, data: $0.message.data) }, value: { status in
            if case .receivedFrom(let source, let data) = status { return (source, data) }
            return nil
        })
    }
}
