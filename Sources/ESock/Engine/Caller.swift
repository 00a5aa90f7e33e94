/// Who started an operation, and where its messages go (Erlang: the calling process, whose
/// mailbox gets the select, completion and abort messages). Select's rules compare callers: the
/// caller of the current operation may call again, and a caller has one place in a queue.
///
/// A nowait call's caller is the mailbox it names, a blocking call's the private mailbox of its
/// thread, an async call's its own ``AsyncCallSlot`` (one per call, so that two tasks' calls on
/// one socket are two callers, as two processes are).
enum Caller {
    case mailbox(Mailbox)
    case asyncCall(AsyncCallSlot)
    /// The socket's own operations (the completion backend's multishot receive and accept),
    /// which deliver to the callers' operations, never a message of their own. (Holding their
    /// first caller's async slot kept it alive for the socket's life, whoever used it next.)
    case engine

    /// Whether `self` and `other` are the same caller.
    @inline(__always)
    func isSame(as other: Caller) -> Bool {
        switch (self, other) {
        case (.mailbox(let a), .mailbox(let b)): return a === b
        case (.asyncCall(let a), .asyncCall(let b)): return a === b
        default: return false
        }
    }

    /// True when the caller is a mailbox that does not expect the backend `backend` identifies
    /// (see ``BlockingWaiter/expects(_:)``).
    func mailboxMustExpect(_ backend: ObjectIdentifier) -> Bool {
        if case .mailbox(let m) = self { return !m.core.expects(backend) }
        return false
    }

    /// The caller's mailbox, when it has one (an async call has none).
    var mailbox: Mailbox? {
        if case .mailbox(let m) = self { return m }
        return nil
    }

    /// Delivers a message about `op`, unless `op` was cancelled meanwhile.
    @inline(__always)
    func post(_ message: consuming SocketMessage, unlessWithdrawn op: Operation?) {
        switch self {
        case .mailbox(let m): m.post(message, unlessWithdrawn: op)
        case .asyncCall(let slot): slot.post(message, unlessWithdrawn: op)
        case .engine: assertionFailure("a message for the socket's own operation: \(message)")
        }
    }

    /// Removes the waiting messages about `handle` (cancel).
    func flush(handle: Handle) {
        switch self {
        case .mailbox(let m): m.flush(handle: handle)
        case .asyncCall(let slot): slot.flush(handle: handle)
        case .engine: break
        }
    }

    /// Blocks the thread until the message about `handle` comes or `deadline` passes: the late
    /// message of an operation that ended just before its cancel (see
    /// ``Socket/giveUp(_:_:in:as:cancelled:)``).
    func receiveLate(_ handle: Handle, polledBy driver: any PollDriver, deadline: Deadline) -> SocketMessage? {
        switch self {
        case .mailbox(let m): return m.receive(.handle(handle), deadline: deadline)
        case .asyncCall(let slot): return slot.receiveLate(handle, polledBy: driver, deadline: deadline)
        case .engine: return nil
        }
    }
}

extension Caller: CustomStringConvertible {
    var description: String {
        switch self {
        case .mailbox(let m): return "\(m) (\(m.count) messages, \(m.asyncWaiterCount) async waiters)"
        case .asyncCall(let slot): return "async call (\(slot.count) messages, \(slot.isWaiting ? "waiting" : "not waiting"))"
        case .engine: return "the socket itself"
        }
    }
}
