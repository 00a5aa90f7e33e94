/// A waiting recvfrom or recvmsg: each round is one nowait call (no partial data: one kernel
/// call gives the whole message), and the completion status carries the value.
struct ReceiveMessageCall<Value: Sendable>: SocketCall {
    let tag: OperationTag
    /// The nowait call.
    let call: (Socket, Mailbox, Handle) throws(SocketError) -> Pending<Value>
    /// The value a completion status carries; nil when it carries none of this call's kind.
    let value: (CompletionStatus) -> Value?

    mutating func attempt(_ socket: Socket, _ mailbox: Mailbox) throws(SocketError) -> CallStep<Value> {
        let handle = Handle.make()
        if case .done(let v) = try call(socket, mailbox, handle) { return .done(v) }
        return .wait(handle)
    }

    func finish(_ status: CompletionStatus) throws(SocketError) -> Value {
        if case .failed(let e) = status { throw e }
        guard let v = value(status) else { throw .invalid("\(tag) completed with \(status)") }
        return v
    }
}

extension Socket {
    /// The buffer sizes of a receive: the caller's, or the socket's defaults for 0 (Erlang's
    /// `{otp, rcvbuf}` and `{otp, rcvctrlbuf}`). Throws `invalid` for negative or huge sizes.
    func receiveSizes(_ bufferSize: Int, _ controlSize: Int) throws(SocketError) -> (Int, Int) {
        let limit = Int(Int32.max)
        guard bufferSize >= 0, bufferSize <= limit else { throw .invalid("buffer size \(bufferSize)") }
        guard controlSize >= 0, controlSize <= limit else { throw .invalid("control buffer size \(controlSize)") }
        let (b, c) = state.withLock { ($0.recvBufferSize, $0.recvControlBufferSize) }
        return (bufferSize == 0 ? b : bufferSize, controlSize == 0 ? c : controlSize)
    }
}
