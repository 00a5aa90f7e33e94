#if canImport(Glibc)
import Glibc
#endif

/// A waiting recvfrom or recvmsg: each round is one nowait call (no partial data: one kernel
/// call gives the whole message), and the completion status carries the value.
struct ReceiveMessageCall<Value: Sendable>: SocketCall {
    let tag: OperationTag
    /// The nowait call (`mayWait` false: tried once, never queued or armed).
    let call: (Socket, Caller, Handle, Bool) throws(SocketError) -> Started
    /// The call's value from the operation's.
    let convert: (OperationValue) -> Value
    /// The value a completion status carries; nil when it carries none of this call's kind.
    let value: (CompletionStatus) -> Value?

    mutating func attempt(_ socket: Socket, _ caller: Caller, mayWait: Bool) throws(SocketError) -> CallStep<Value> {
        try call(socket, caller, Handle.make(), mayWait).step(convert)
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
    ///
    /// Memory is allocated for what can arrive, not for what was asked: a buffer larger than
    /// 64 KiB is cut to the socket's receive buffer (`SO_RCVBUF`, which no one message exceeds),
    /// so a size read from a peer's header cannot make a receive allocate gigabytes.
    func receiveSizes(_ bufferSize: Int, _ controlSize: Int) throws(SocketError) -> (Int, Int) {
        let limit = Int(Int32.max)
        guard bufferSize >= 0, bufferSize <= limit else { throw .invalid("buffer size \(bufferSize)") }
        guard controlSize >= 0, controlSize <= limit else { throw .invalid("control buffer size \(controlSize)") }
        let (b, c) = state.withLock { ($0.recvBufferSize, $0.recvControlBufferSize) }
        var size = bufferSize == 0 ? b : bufferSize
        if size > 65536 {
            let kernelBuffer = try withDescriptor { (fd) throws(SocketError) -> Int in
                var value: Int32 = 0
                var len = socklen_t(MemoryLayout<Int32>.size)
                if getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &value, &len) < 0 { throw .posix(errno) }
                return Int(value)
            }
            size = min(size, max(kernelBuffer, 65536))
        }
        return (size, min(controlSize == 0 ? c : controlSize, 1 << 20))
    }
}
