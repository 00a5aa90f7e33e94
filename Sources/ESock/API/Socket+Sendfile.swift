#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

extension Socket {
    /// Sends file data without waiting (Erlang: `sendfile(Socket, FileHandle, Offset, Count, nowait | Handle)`).
    ///
    /// `file` is an open file (Erlang: the `file:fd()`; here swift-system's `FileDescriptor`,
    /// `FileDescriptor(rawValue:)` for a descriptor number) that the caller keeps open until the
    /// operation ends; its own file offset is neither used nor moved. `count` 0 sends up to the
    /// end of the file. Returns `.done` with the bytes sent. Select backend:
    /// `.select` with the bytes sent so far as `partial` (call again from `offset + partial` after
    /// the select message); completion backend: `.completion`, and the message says
    /// ``CompletionStatus/sentFile(_:)``.
    public func sendfile(_ file: FileDescriptor, offset: Int64 = 0, count: Int = 0, nowait mailbox: Mailbox,
                         handle: Handle? = nil) throws(SocketError) -> Pending<Int> {
        try startSendfile(file, offset: offset, count: count, caller: .mailbox(mailbox), handle: handle, mayWait: true)
            .pending().map { value in
                if case .count(let n) = value { return n }
                return 0
            }
    }

    /// The nowait sendfile; `mayWait` false: tried once, never queued or armed. The range must
    /// fit in a file offset (`offset + count` does not overflow).
    func startSendfile(_ file: FileDescriptor, offset: Int64, count: Int, caller: Caller, handle: Handle?,
                       mayWait: Bool) throws(SocketError) -> Started {
        guard offset >= 0 else { throw .invalid("offset \(offset)") }
        guard count >= 0 else { throw .invalid("count \(count)") }
        guard !offset.addingReportingOverflow(Int64(count)).overflow else {
            throw .invalid("offset \(offset) + count \(count) is past the largest file offset")
        }
        guard fcntl(file.rawValue, F_GETFD) >= 0 else { throw .invalid("file descriptor \(file.rawValue)") }
        let op = Operation(.sendfile, tag: .sendfile, handle: handle ?? .make(), caller: caller, socket: self)
        op.fileDescriptor = file.rawValue
        op.fileOffset = offset
        op.fileRemaining = count == 0 ? nil : count
        try transition { (st, _) throws(SocketError) in
            guard !st.closed else { throw .closed }
            st.counters.add(.sendfile)
        }
        return try start(op, mayWait: mayWait)
    }

    /// Sends file data, waiting at most `timeout` (Erlang: `sendfile/2,3,4,5`). Returns the bytes
    /// sent; on timeout or error after some were sent the error carries the count
    /// (``SocketError/Partial/sent(_:)``).
    @discardableResult
    public func sendfile(_ file: FileDescriptor, offset: Int64 = 0, count: Int = 0, timeout: Timeout = .infinity) throws(SocketError) -> Int {
        try perform(SendfileCall(file: file, offset: offset, count: count), timeout: timeout)
    }

    /// Sends `count` bytes (0: to the end) of `file` from `offset`, suspending the task until
    /// they went (Erlang: `sendfile/5` with `nowait`, then the messages; no thread is blocked).
    /// Returns the bytes sent. Cancelling the task cancels the transfer (Erlang: `cancel/2`) and
    /// throws ``SocketError/Reason/cancelled`` with the bytes sent (``SocketError/Partial/sent(_:)``).
    @discardableResult
    public nonisolated(nonsending) func sendfile(_ file: FileDescriptor, offset: Int64 = 0, count: Int = 0,
                                                 timeout: Timeout = .infinity) async throws(SocketError) -> Int {
        try await perform(SendfileCall(file: file, offset: offset, count: count), timeout: timeout)
    }
}

/// sendfile: continues from where each select round left off until `count` bytes went.
struct SendfileCall: SocketCall {
    let file: FileDescriptor
    let offset: Int64
    let count: Int
    var sent = 0
    var tag: OperationTag { .sendfile }

    init(file: FileDescriptor, offset: Int64, count: Int) {
        self.file = file
        self.offset = offset
        self.count = count
    }

    mutating func attempt(_ socket: Socket, _ caller: Caller, mayWait: Bool) throws(SocketError) -> CallStep<Int> {
        // `sent` never exceeds what the range allowed, checked to fit when the call began.
        let (from, overflow) = offset.addingReportingOverflow(Int64(sent))
        guard !overflow else { throw .invalid("offset \(offset) + \(sent) is past the largest file offset") }
        let started = try socket.startSendfile(file, offset: from, count: count == 0 ? 0 : count - sent,
                                               caller: caller, handle: Handle.make(), mayWait: mayWait)
        if case .done(.count(let n)) = started { return .done(sent + n) }
        if case .count(let n)? = started.partial { sent += n }
        return started.step { _ in sent }
    }

    func finish(_ status: CompletionStatus) throws(SocketError) -> Int {
        switch status {
        case .sentFile(let n): return sent + n
        case .failed(let e): throw e
        default: throw .invalid("sendfile completed with \(status)")
        }
    }

    func partial(at cancelled: Operation) -> SocketError.Partial? { .sent(sent + cancelled.fileSent) }

    func decorate(_ error: SocketError) -> SocketError {
        if error.partial != nil && (error.reason == .timeout || error.reason == .cancelled) { return error }
        return SocketError(error.reason, partial: sent + error.sentCount > 0 ? .sent(sent + error.sentCount) : nil)
    }
}

extension SocketError {
    /// The bytes a sendfile error reports as sent.
    var sentCount: Int {
        if case .sent(let n)? = partial { return n }
        return 0
    }
}
