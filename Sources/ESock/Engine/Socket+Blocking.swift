#if canImport(Glibc)
import Glibc
#endif

/// The mailbox a thread's blocking calls use: one per thread, made on first use.
enum PrivateMailbox {
    private static let slot = ThreadLocal<Mailbox>()

    /// The calling thread's private mailbox, emptied of anything an earlier call left.
    static var current: Mailbox {
        let mailbox = slot.value { Mailbox() }
        mailbox.discardStale()
        return mailbox
    }
}

extension Socket {
    /// How a blocking call goes on after its operation had to wait.
    enum Wakeup {
        /// Select backend: call the operation again.
        case retry
        /// Completion backend: the operation's result.
        case completed(CompletionStatus)
    }

    /// The wait for `handle` was given up: cancels the operation and throws `reason` with what it
    /// moved, unless it ended just before the cancel; then its message is in the mailbox and
    /// counts (in `caller`, the mailbox or slot the call waits in).
    func giveUp(_ handle: Handle, _ tag: OperationTag, in caller: Caller, as reason: SocketError.Reason,
                        cancelled: (Operation) -> SocketError.Partial?) throws(SocketError) -> Wakeup {
        // A receive whose time ran out lets the backend catch up first with what the kernel's
        // side holds for the socket (completion: CQEs of the multishot receiver that the ring
        // owner has not handled yet), as a zero timeout's one try does: data that came in time
        // then reaches the operation, which ends with it or carries it as its part. (Select
        // makes the read its receive skipped in its cancel, `SocketState.lastRead`.)
        if reason == .timeout && (tag == .recv || tag == .recvfrom || tag == .recvmsg) { _ = backend.catchUp(self) }
        do throws(SocketError) {
            let op = try cancelOperation(tag: tag, handle: handle, what: "\(tag) \(handle)", takingData: true,
                                         timedOut: reason == .timeout)
            // The kernel finished a receive into the caller's memory before the cancel reached
            // it: that is the call's result.
            if op.target != nil && op.receivedCount > 0 { return .completed(.receivedCount(op.receivedCount)) }
            throw SocketError(reason, partial: cancelled(op))
        } catch where error.reason != reason {
            // The operation ended before the cancel reached it (its transition took it out of
            // the queue), or the socket closed: its message is posted after that transition
            // released the socket's lock, so it may be on its way still. It comes (only a
            // cancel withdraws a message, and this one found nothing to withdraw) and it is the
            // call's result: data a receive took, what a send moved.
            if let message = caller.receiveLate(handle, polledBy: backend, deadline: .after(Self.lateMessageLimit)) {
                return try wakeup(message)
            }
            throw error
        }
    }

    /// How long a call given up waits for the message of an operation that ended just before
    /// (it is being posted by the thread that ended it; a bound only so that a bug cannot hang
    /// the caller).
    static let lateMessageLimit = Duration.seconds(10)

    /// What a message about a blocking or async call's operation means for the call.
    func wakeup(_ message: SocketMessage) throws(SocketError) -> Wakeup {
        switch message {
        case .select: return .retry
        case .completion(_, _, let status): return .completed(status)
        case .abort(_, _, let reason): throw reason
        // Never selected: a blocking call receives only messages about its own handle.
        case .down, .counterWrap: return .retry
        }
    }
}

extension SocketError {
    /// This error with `received` put in front of what it already reports as received.
    func prepending(received: [UInt8]) -> SocketError {
        guard !received.isEmpty else { return self }
        var e = self
        if case .received(let more)? = partial { e.partial = .received(received + more) } else { e.partial = .received(received) }
        return e
    }
}
