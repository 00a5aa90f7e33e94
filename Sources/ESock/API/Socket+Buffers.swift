extension Socket {
    // MARK: Receiving into the caller's memory

    /// Receives what is available, at most `buffer.count` bytes, into `buffer`, waiting at most
    /// `timeout` (Erlang: `recv/3,4` with length 0; C: recv(2) into the buffer, on the completion
    /// backend `IORING_OP_RECV` into it or a copy out of a provided buffer). Returns the count.
    ///
    /// No memory is allocated on the way: the kernel writes into `buffer` (select: recv(2) into
    /// it; completion: a copy from the provided buffer that a multishot receive filled, or an
    /// SQE that points into it). The call returns only after the kernel's last completion for
    /// the operation, so `buffer` may be reused as soon as it returns, also after a timeout.
    /// The end of a stream is ``SocketError/Reason/closed``; a timeout with nothing received is
    /// ``SocketError/Reason/timeout`` (data the kernel held before the deadline is read, even
    /// when the backend had not reported it yet).
    public func recv(into buffer: UnsafeMutableRawBufferPointer, flags: MessageFlags = [],
                     timeout: Timeout = .infinity) throws(SocketError) -> Int {
        try perform(RecvIntoCall(target: buffer, flags: flags), timeout: timeout)
    }

    /// ``recv(into:flags:timeout:)-3o7fc``, suspending the task
    /// instead of blocking the thread. The task stays suspended until the kernel's last
    /// completion for the operation, also when it is cancelled, so `buffer` outlives the
    /// kernel's use of it.
    public nonisolated(nonsending) func recv(into buffer: UnsafeMutableRawBufferPointer, flags: MessageFlags = [],
                                             timeout: Timeout = .infinity) async throws(SocketError) -> Int {
        try await perform(RecvIntoCall(target: buffer, flags: flags), timeout: timeout)
    }

    /// Receives what is available into the uninitialized part of `output` (at most its free
    /// capacity) and appends it there; returns the count. See
    /// ``recv(into:flags:timeout:)-3o7fc``.
    public func recv(into output: inout OutputRawSpan, flags: MessageFlags = [],
                     timeout: Timeout = .infinity) throws(SocketError) -> Int {
        try output.withUnsafeMutableBytes { (raw, initialized) throws(SocketError) -> Int in
            let free = UnsafeMutableRawBufferPointer(rebasing: raw[initialized...])
            guard !free.isEmpty else { throw .invalid("the output span has no free capacity") }
            let n = try recv(into: free, flags: flags, timeout: timeout)
            initialized += n
            return n
        }
    }

    /// Receives what is available into `span` (at most its count); returns the count. See
    /// ``recv(into:flags:timeout:)-3o7fc``.
    public func recv(into span: inout MutableRawSpan, flags: MessageFlags = [],
                     timeout: Timeout = .infinity) throws(SocketError) -> Int {
        try span.withUnsafeMutableBytes { (raw) throws(SocketError) -> Int in
            try recv(into: raw, flags: flags, timeout: timeout)
        }
    }

    // MARK: Sending from the caller's memory

    /// Sends all of `bytes` from the caller's memory, waiting at most `timeout` (Erlang:
    /// `send/2,3,4`; C: send(2), on the completion backend `IORING_OP_SEND` pointing into
    /// `bytes`). Returns the bytes sent (all of them on a stream; a non-stream socket sends one
    /// message and says how much it took).
    ///
    /// Nothing is copied into an array: the kernel reads `bytes` where they are, and the call
    /// returns only after its last completion, so they may be reused at once. On timeout or
    /// error after part went, the error carries the rest (``SocketError/Partial/rest(_:)``, a
    /// copy made then).
    @discardableResult
    public func send(_ bytes: UnsafeRawBufferPointer, flags: MessageFlags = [],
                     timeout: Timeout = .infinity) throws(SocketError) -> Int {
        try perform(SendBytesCall(bytes: bytes, flags: flags), timeout: timeout)
    }

    /// ``send(_:flags:timeout:)-75ppd``, suspending the task instead of
    /// blocking the thread (until the kernel's last completion, also when cancelled).
    @discardableResult
    public nonisolated(nonsending) func send(_ bytes: UnsafeRawBufferPointer, flags: MessageFlags = [],
                                             timeout: Timeout = .infinity) async throws(SocketError) -> Int {
        try await perform(SendBytesCall(bytes: bytes, flags: flags), timeout: timeout)
    }

    /// Sends all of `bytes` (a span of any contiguous memory: an array's `span.bytes`, a
    /// `Data`'s, a buffer's) without copying them; see
    /// ``send(_:flags:timeout:)-75ppd``.
    @discardableResult
    public func send(_ bytes: RawSpan, flags: MessageFlags = [], timeout: Timeout = .infinity) throws(SocketError) -> Int {
        try bytes.withUnsafeBytes { (raw) throws(SocketError) -> Int in try send(raw, flags: flags, timeout: timeout) }
    }

    /// The nowait receive into caller memory (the direct path when nothing is in the way); only
    /// blocking and async calls use it, which wait until the operation's last completion.
    func startRecv(into target: UnsafeMutableRawBufferPointer, flags: MessageFlags, caller: Caller,
                   handle: Handle, mayWait: Bool) throws(SocketError) -> Started {
        func operation(_ handle: Handle) -> Operation {
            let op = Operation(.recv, tag: .recv, handle: handle, caller: caller, socket: self)
            op.target = target
            op.flags = flags.rawValue
            return op
        }
        func attempt() throws(SocketError) -> Started {
            if let direct = try startDirect(.recv, caller: caller, handle: handle, mayWait: mayWait, { st in
                st.receiveInto(target, flags: flags.rawValue, force: !mayWait)
            }, make: { handle, _ in operation(handle) }) {
                return direct
            }
            return try start(operation(handle), mayWait: mayWait)
        }
        let started = try attempt()
        guard case .wouldBlock = started, backend.catchUp(self) else { return started }
        return try attempt()
    }

    /// The nowait send from caller memory, from `bytes[sent...]`: the direct path advances
    /// `sent`; a waiting operation points into `bytes` (the caller waits until its last
    /// completion) rather than copying them.
    func startSend(bytes: UnsafeRawBufferPointer, sent: inout Int, flags: MessageFlags, caller: Caller,
                   handle: Handle, mayWait: Bool) throws(SocketError) -> Started {
        func operation(_ handle: Handle, from offset: Int) -> Operation {
            let op = Operation(.send, tag: .send, handle: handle, caller: caller, socket: self)
            op.flags = flags.rawValue
            op.borrowOutgoing(UnsafeRawBufferPointer(rebasing: bytes[offset...]))
            return op
        }
        if mayWait && backend.sendsThroughKernel(for: caller, bytes: bytes.count - sent) {
            return try start(operation(handle, from: sent), mayWait: true, attemptFirst: false)
        }
        let keepsData = backend.operationsKeepData
        var progress = sent
        let direct = try startDirect(.send, caller: caller, handle: handle, mayWait: mayWait, { st in
            st.sendNow(bytes, flags: flags.rawValue, sent: &progress, reportRest: false)
        }, make: { handle, _ in
            let op = Operation(.send, tag: .send, handle: handle, caller: caller, socket: self)
            op.flags = flags.rawValue
            if keepsData { op.borrowOutgoing(UnsafeRawBufferPointer(rebasing: bytes[progress...])) }
            return op
        })
        sent = progress
        if let direct { return direct }
        return try start(operation(handle, from: sent), mayWait: mayWait)
    }
}

/// recv(into:): one receive of whatever is available into the caller's memory.
// @unchecked Sendable: the pointer is the caller's, used only while the call runs.
struct RecvIntoCall: SocketCall, @unchecked Sendable {
    let target: UnsafeMutableRawBufferPointer
    let flags: MessageFlags
    var tag: OperationTag { .recv }

    mutating func attempt(_ socket: Socket, _ caller: Caller, mayWait: Bool) throws(SocketError) -> CallStep<Int> {
        guard !target.isEmpty else { throw .invalid("a receive into an empty buffer") }
        return try socket.startRecv(into: target, flags: flags, caller: caller, handle: .make(), mayWait: mayWait)
            .step { value in
                if case .count(let n) = value { return n }
                return 0
            }
    }

    func finish(_ status: CompletionStatus) throws(SocketError) -> Int {
        switch status {
        case .receivedCount(let n): return n
        case .failed(let e): throw e
        default: throw .invalid("recv completed with \(status)")
        }
    }
}

/// send from the caller's memory: continues partial sends until all of it went.
// @unchecked Sendable: the pointer is the caller's, used only while the call runs.
struct SendBytesCall: SocketCall, @unchecked Sendable {
    let bytes: UnsafeRawBufferPointer
    let flags: MessageFlags
    /// Bytes that went in earlier rounds.
    var sent = 0
    var tag: OperationTag { .send }

    mutating func attempt(_ socket: Socket, _ caller: Caller, mayWait: Bool) throws(SocketError) -> CallStep<Int> {
        var progress = sent
        let started = try socket.startSend(bytes: bytes, sent: &progress, flags: flags, caller: caller,
                                           handle: .make(), mayWait: mayWait)
        sent = progress
        if case .done = started { return .done(sent) }
        return started.step { _ in sent }
    }

    func finish(_ status: CompletionStatus) throws(SocketError) -> Int {
        switch status {
        case .sent: return bytes.count
        case .failed(let e): throw e
        default: throw .invalid("send completed with \(status)")
        }
    }

    /// A completion-backend operation knows the exact rest; a select-backend one holds nothing
    /// (the call knows what went).
    func partial(at cancelled: Operation) -> SocketError.Partial? {
        if cancelled.outgoing != nil { return .rest(Array(cancelled.unsent)) }
        return sent < bytes.count ? .rest(Array(bytes[sent...])) : nil
    }

    func decorate(_ error: SocketError) -> SocketError {
        guard error.partial == nil, sent > 0, sent < bytes.count else { return error }
        return SocketError(error.reason, partial: .rest(Array(bytes[sent...])))
    }

    /// A send given up after all of it went (the kernel finished it before the cancel reached
    /// it) succeeded.
    func value(givenUp reason: SocketError.Reason, with partial: SocketError.Partial?) -> Int? {
        if case .rest(let r)? = partial, r.isEmpty { return bytes.count }
        return nil
    }
}
