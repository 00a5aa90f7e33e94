extension Socket {
    /// Sends without waiting (Erlang: `send(Socket, Data, Flags, nowait | Handle)`).
    ///
    /// Returns `.done` with the data not accepted (empty: all sent; only a non-stream socket can
    /// leave any). Select backend: `.select`, with the data still to send as `partial` when some
    /// was sent (call again with it after the select message); completion backend:
    /// `.completion`, and the message says ``CompletionStatus/sent`` once all of it was sent.
    public func send(_ data: [UInt8], flags: MessageFlags = [], nowait mailbox: Mailbox,
                     handle: Handle? = nil) throws(SocketError) -> Pending<[UInt8]> {
        let op = Operation(.send, tag: .send, handle: handle ?? .make(), mailbox: mailbox, socket: self)
        op.flags = flags.rawValue
        data.withUnsafeBytes { op.setOutgoing($0) }
        switch try start(op) {
        case .done(.bytes(let rest)): return .done(rest)
        case .done: return .done([])
        case .select(let info, .bytes(let rest)?): return .select(info, partial: rest)
        case .select(let info, _): return .select(info, partial: nil)
        case .completion(let info): return .completion(info)
        }
    }

    /// Sends, waiting at most `timeout` (Erlang: `send/2,3,4`). A stream retries partial sends
    /// until all data is accepted. Returns the data not accepted (empty unless a non-stream
    /// socket took part of it). On timeout or error after a partial send the error carries the
    /// rest (``SocketError/Partial/rest(_:)``).
    @discardableResult
    public func send(_ data: [UInt8], flags: MessageFlags = [], timeout: Timeout = .infinity) throws(SocketError) -> [UInt8] {
        let deadline = timeout.deadline()
        let mailbox = PrivateMailbox.current
        var rest = data
        while true {
            let handle = Handle.make()
            switch try send(rest, flags: flags, nowait: mailbox, handle: handle) {
            case .done(let r): return r
            case .select(_, let partial): rest = partial ?? rest
            case .completion: break
            }
            let unsentAtCancel = { (op: Operation) -> SocketError.Partial? in .rest(Array(op.unsent)) }
            do throws(SocketError) {
                switch try waitFor(handle, .send, in: mailbox, until: deadline, cancelled: unsentAtCancel) {
                case .retry: continue
                case .completed(.sent): return []
                case .completed(.failed(let e)): throw e
                case .completed(let other): throw .invalid("send completed with \(other)")
                }
            } catch where error.partial == nil && error.reason != .timeout {
                throw SocketError(error.reason, partial: rest.count < data.count ? .rest(rest) : nil)
            }
        }
    }
}
