extension Socket {
    /// Sends `data` to `destination` without waiting (Erlang: `sendto(Socket, Data, Dest, Flags,
    /// nowait | Handle)`; C: sendmsg(2) with `msg_name`, on the completion backend
    /// `IORING_OP_SENDMSG`).
    ///
    /// Returns `.done` with the data not sent (empty: all of it; only a non-stream socket can
    /// leave any). Select backend: `.select`, with the rest as `partial` when part of a stream's
    /// data went (Erlang's continuation: call again with it after the select message);
    /// completion backend: `.completion`, and the message says ``CompletionStatus/sent``.
    public func sendto(_ data: [UInt8], to destination: SocketAddress, flags: MessageFlags = [],
                       nowait mailbox: Mailbox, handle: Handle? = nil) throws(SocketError) -> Pending<[UInt8]> {
        try startSendTo(data, to: destination, flags: flags, caller: .mailbox(mailbox), handle: handle, mayWait: true)
            .pending().map { Array($0.iov.joined()) }
    }

    /// The nowait sendto; `mayWait` false: tried once, never queued or armed.
    func startSendTo(_ data: [UInt8], to destination: SocketAddress, flags: MessageFlags, caller: Caller,
                     handle: Handle?, mayWait: Bool) throws(SocketError) -> Started {
        let message = try MessageIO(sending: [data], to: destination, control: [])
        return try startMessage(.send, .sendto, message, flags: flags, caller: caller, handle: handle, mayWait: mayWait)
    }

    /// Sends `data` to `destination`, waiting at most `timeout` (Erlang: `sendto/3,4,5`).
    ///
    /// A stream's partial sends are continued until everything went. Returns what was not sent
    /// (empty when all went); on timeout or error after part went, the error carries the rest.
    @discardableResult
    public func sendto(_ data: [UInt8], to destination: SocketAddress, flags: MessageFlags = [],
                       timeout: Timeout = .infinity) throws(SocketError) -> [UInt8] {
        try perform(SendCall(data: data, flags: flags, to: destination), timeout: timeout)
    }

    /// Sends `data` to `destination`, suspending the task until it went (Erlang: `sendto/5` with
    /// `nowait`, then the select or completion messages). Returns what was not sent, as the
    /// blocking form does. Cancelling the task cancels the send and throws
    /// ``SocketError/Reason/cancelled`` with the data not sent.
    @discardableResult
    public nonisolated(nonsending) func sendto(_ data: [UInt8], to destination: SocketAddress,
                                               flags: MessageFlags = [],
                                               timeout: Timeout = .infinity) async throws(SocketError) -> [UInt8] {
        try await perform(SendCall(data: data, flags: flags, to: destination), timeout: timeout)
    }
}
