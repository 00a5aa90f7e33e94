extension Socket {
    /// Sends an I/O vector on a connected socket without waiting (Erlang:
    /// `sendv(Socket, IOV, nowait | Handle)`, OTP 27; C: OTP calls writev(2), ESock sendmsg(2)
    /// with the vector only — no address, no control, no flags — which is writev(2) on a socket;
    /// on the completion backend `IORING_OP_SENDMSG`).
    ///
    /// The vector's arrays are kept, not copied: the I/O vector given to the kernel points into
    /// their storage, which does not move while the call holds them. A stream sends a vector
    /// longer than the platform allows (``LibraryInfo/iovMax``) in windows of that many elements,
    /// one call after another; any other socket type sends the vector as one datagram or record
    /// and refuses a longer one with `invalid`, as OTP does.
    ///
    /// Returns `.done` with the part of the vector not sent (empty: all of it; Erlang's `ok` and
    /// `{ok, RestIOV}`, the latter only when a non-stream socket took part of it). Select
    /// backend: `.select`, with the rest as `partial` when part of it went (Erlang's
    /// `{select, {SelectInfo, RestIOV}}`); after the select message call `sendv` again with that
    /// rest (Erlang's `sendv(Socket, RestIOV, Cont)`). Completion backend: what sendmsg(2) did
    /// not take at once goes to the kernel (`.completion`): it sends the rest (in windows,
    /// through the ring) and the message says ``CompletionStatus/sent`` once all of it went. A
    /// ``cancel(_:)-(CompletionInfo)`` or a close before that tells what was not sent, as
    /// ``SocketError/Partial/restIOV(_:)``; so does an error after part of it went.
    public func sendv(_ iov: [[UInt8]], nowait mailbox: Mailbox, handle: Handle? = nil) throws(SocketError) -> Pending<[[UInt8]]> {
        try startSendv(iov, caller: .mailbox(mailbox), handle: handle, mayWait: true).pending().map { $0.iov }
    }

    /// The nowait sendv; `mayWait` false: tried once, never queued or armed.
    func startSendv(_ iov: [[UInt8]], caller: Caller, handle: Handle?, mayWait: Bool) throws(SocketError) -> Started {
        try startSendmsg(Msg(iov: iov), flags: [], caller: caller, handle: handle, mayWait: mayWait, tag: .sendv)
    }

    /// Sends an I/O vector on a connected socket, waiting at most `timeout` (Erlang:
    /// `sendv/2,3`, OTP 27; C: writev(2) in OTP, sendmsg(2) here, see
    /// ``sendv(_:nowait:handle:)``).
    ///
    /// A stream's partial sends are continued until everything went. Returns the part of the
    /// vector not sent: empty, except when a non-stream socket took part of it (Erlang's
    /// `{ok, RestIOV}`). When the time runs out or an error comes after part of the vector went,
    /// the error carries the rest as a vector (``SocketError/Partial/restIOV(_:)``: Erlang's
    /// `{error, {timeout, RestIOV}}`); when nothing went, it carries nothing (`{error, timeout}`).
    @discardableResult
    public func sendv(_ iov: [[UInt8]], timeout: Timeout = .infinity) throws(SocketError) -> [[UInt8]] {
        try perform(SendvCall(iov: iov), timeout: timeout)
    }

    /// Sends an I/O vector on a connected socket, suspending the task until it went (Erlang:
    /// `sendv/3` with `nowait`, then the select or completion messages; no thread is blocked).
    /// Returns the part of the vector not sent, as the blocking form does. Cancelling the task
    /// cancels the send and throws ``SocketError/Reason/cancelled``, with the rest as a vector
    /// when part of it went.
    @discardableResult
    public nonisolated(nonsending) func sendv(_ iov: [[UInt8]], timeout: Timeout = .infinity) async throws(SocketError) -> [[UInt8]] {
        try await perform(SendvCall(iov: iov), timeout: timeout)
    }

    /// The part of the I/O vector `iov` after its first `written` bytes (Erlang:
    /// `socket:rest_iov(Written, IOV)`, OTP 28.0.2): what a send that wrote `written` bytes of it
    /// left, e.g. after a completion status of a partial send.
    ///
    /// Whole elements the written bytes cover are dropped (empty elements among them too); an
    /// element they end inside is cut; the elements after it are kept as they are. Writing
    /// everything leaves `[]`. Throws ``SocketError/Reason/invalid(_:)`` for a negative `written`
    /// or one past the end of the vector (Erlang raises an exception for both).
    public static func restIOV(_ written: Int, of iov: [[UInt8]]) throws(SocketError) -> [[UInt8]] {
        guard written >= 0 else { throw .invalid("written \(written): negative") }
        var left = written
        var first = 0
        while first < iov.count && left >= iov[first].count {
            left -= iov[first].count
            first += 1
        }
        if first == iov.count {
            guard left == 0 else {
                throw .invalid("written \(written) is past the end of the I/O vector (\(written - left) bytes)")
            }
            return []
        }
        var rest = Array(iov[first...])
        if left > 0 { rest[0] = Array(rest[0][left...]) }
        return rest
    }
}

/// sendv: a sendmsg call of the vector alone that reports what was not sent as a vector, and
/// nothing when nothing went (OTP: `{error, timeout}`, `{error, {timeout, RestIOV}}`).
struct SendvCall: SocketCall {
    private var send: SendMsgCall
    var tag: OperationTag { .sendv }

    init(iov: [[UInt8]]) {
        send = SendMsgCall(msg: Msg(iov: iov), flags: [], tag: .sendv)
    }

    mutating func attempt(_ socket: Socket, _ caller: Caller, mayWait: Bool) throws(SocketError) -> CallStep<[[UInt8]]> {
        try send.attempt(socket, caller, mayWait: mayWait)
    }

    func finish(_ status: CompletionStatus) throws(SocketError) -> [[UInt8]] {
        try send.finish(status)
    }

    /// The rest the cancelled operation held (the completion backend's kernel may have sent
    /// part of it); nothing when nothing went.
    func partial(at cancelled: Operation) -> SocketError.Partial? {
        guard send.rest != nil || (cancelled.message?.sent ?? 0) > 0 else { return nil }
        return .restIOV(cancelled.message?.rest ?? send.rest ?? send.msg.iov)
    }

    /// An error after part of the vector went carries the rest (Erlang: `{error, {Reason, RestIOV}}`).
    func decorate(_ error: SocketError) -> SocketError {
        guard error.partial == nil, let rest = send.rest else { return error }
        return SocketError(error.reason, partial: .restIOV(rest))
    }

    /// A send given up after all of it went (the kernel finished it before the cancel reached
    /// it) succeeded.
    func value(givenUp reason: SocketError.Reason, with partial: SocketError.Partial?) -> [[UInt8]]? {
        if case .restIOV(let r)? = partial, r.allSatisfy(\.isEmpty) { return [] }
        return nil
    }
}
