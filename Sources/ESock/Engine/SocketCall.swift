#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// The mailboxes of async calls, reused: a new one costs a mutex, a condition variable and a
/// queue. One is given back only when its call is over (no operation of the call can deliver to
/// it any more); it is emptied and forgets which backend it expected.
/// Each thread keeps one at hand (no lock to take or give it back); the others wait in a pool.
enum AsyncMailboxes {
    private static let pool = Locked<[Mailbox]>([])
    private static let spare = ThreadLocal<Mailbox>()

    static func take() -> Mailbox {
        spare.take() ?? pool.withLock { $0.popLast() } ?? Mailbox()
    }

    static func give(_ mailbox: Mailbox) {
        mailbox.resetForReuse()
        if spare.put(mailbox) { return }
        pool.withLock { if $0.count < 256 { $0.append(mailbox) } }
    }
}

/// What one step of a waiting call gives.
enum CallStep<Value> {
    /// The call's value.
    case done(Value)
    /// The operation waits; its message will carry this handle.
    case wait(Handle)
    /// The call may not wait (a zero timeout) and its operation would have to; what moved is in
    /// the call.
    case wouldBlock
}

/// A socket call that waits (blocking with a timeout, or asynchronously) written once: the
/// nowait attempts, what a completion status means, and what moved when the wait is cancelled.
/// ``Socket/perform(_:timeout:)`` drives it by blocking the thread, ``Socket/perform(_:)`` by
/// suspending the task; both follow the seed: try, wait for the select or completion message,
/// try again or take the result, and cancel the operation when the wait is given up.
protocol SocketCall {
    associatedtype Value
    /// The kind of operation waited for (what cancel looks up).
    var tag: OperationTag { get }
    /// Tries the operation (again, after a select message). `mayWait` false: it must not be
    /// queued or armed (a zero timeout), it is tried once.
    mutating func attempt(_ socket: Socket, _ mailbox: Mailbox, mayWait: Bool) throws(SocketError) -> CallStep<Value>
    /// The value a completion message carries.
    func finish(_ status: CompletionStatus) throws(SocketError) -> Value
    /// What the operation had moved when it was cancelled (timeout or task cancellation).
    func partial(at cancelled: Operation) -> SocketError.Partial?
    /// An error of the call, completed with what moved before it.
    func decorate(_ error: SocketError) -> SocketError
    /// The value to return instead of a `timeout` or `cancelled` error (`reason`) that carries
    /// `partial`, nil to throw. A call given up whose operation the kernel finished before the
    /// cancel reached it moved everything it was asked to (a receive of N bytes got N, a send's
    /// rest is empty): that is its result. And a receive of whatever is available answers a
    /// timeout with the data that came (OTP).
    func value(givenUp reason: SocketError.Reason, with partial: SocketError.Partial?) -> Value?
}

extension SocketCall {
    func partial(at cancelled: Operation) -> SocketError.Partial? { nil }
    func decorate(_ error: SocketError) -> SocketError { error }
    func value(givenUp reason: SocketError.Reason, with partial: SocketError.Partial?) -> Value? { nil }
}

extension Socket {
    /// Runs `call`, blocking the thread at most until `timeout` passes. A zero timeout makes the
    /// call once and never waits (OTP-19063).
    func perform<Call: SocketCall>(_ call: Call, timeout: Timeout) throws(SocketError) -> Call.Value {
        var call = call
        let deadline = timeout.deadline()
        let mayWait = !timeout.isZero
        let mailbox = PrivateMailbox.current
        do throws(SocketError) {
            while true {
                let handle: Handle
                switch try call.attempt(self, mailbox, mayWait: mayWait) {
                case .done(let value): return value
                case .wouldBlock: throw SocketError.timeout
                case .wait(let h): handle = h
                }
                let snapshot = call
                switch try waitFor(handle, call.tag, in: mailbox, until: deadline, cancelled: snapshot.partial(at:)) {
                case .retry: continue
                case .completed(let status): return try call.finish(status)
                }
            }
        } catch {
            let decorated = call.decorate(error)
            if decorated.reason == .timeout || decorated.reason == .cancelled,
               let value = call.value(givenUp: decorated.reason, with: decorated.partial) { return value }
            throw decorated
        }
    }

    /// Runs `call`, suspending the task at most until `timeout` passes (on the backend's
    /// timers; a zero timeout makes the call once and never waits). Cancelling the task cancels
    /// the operation (Erlang's cancel/2) and throws ``SocketError/Reason/cancelled`` with what
    /// moved; a timeout throws ``SocketError/Reason/timeout`` with what moved, as the blocking
    /// form does.
    nonisolated(nonsending) func perform<Call: SocketCall>(_ call: Call, timeout: Timeout) async throws(SocketError) -> Call.Value {
        var call = call
        let deadline = timeout.deadline()
        let mayWait = !timeout.isZero
        let mailbox = AsyncMailboxes.take()
        defer { AsyncMailboxes.give(mailbox) }
        do throws(SocketError) {
            while true {
                let handle: Handle
                switch try call.attempt(self, mailbox, mayWait: mayWait) {
                case .done(let value): return value
                case .wouldBlock: throw SocketError.timeout
                case .wait(let h): handle = h
                }
                let snapshot = call
                switch try await awaitWakeup(handle, call.tag, in: mailbox, until: deadline, cancelled: snapshot.partial(at:)) {
                case .retry: continue
                case .completed(let status): return try call.finish(status)
                }
            }
        } catch {
            let decorated = call.decorate(error)
            if decorated.reason == .timeout || decorated.reason == .cancelled,
               let value = call.value(givenUp: decorated.reason, with: decorated.partial) { return value }
            throw decorated
        }
    }
}

extension Started {
    /// The step of a waiting call this start comes to: its value (through `convert`), the
    /// handle to wait for, or that it would block.
    func step<T>(_ convert: (OperationValue) -> T) -> CallStep<T> {
        switch self {
        case .done(let v): return .done(convert(v))
        case .pending(let p): return .wait(p.handle!)
        case .wouldBlock: return .wouldBlock
        }
    }

    /// The answer of a public nowait call (which may always wait).
    func pending() -> Pending<OperationValue> {
        switch self {
        case .done(let v): return .done(v)
        case .pending(let p): return p
        case .wouldBlock(let partial):
            // Not reached: a nowait call may wait.
            assertionFailure("a nowait call was told it would block")
            return .done(partial ?? .none)
        }
    }

    /// What moved before a start that would block.
    var partial: OperationValue? {
        switch self {
        case .pending(.select(_, let p)): return p
        case .wouldBlock(let p): return p
        default: return nil
        }
    }
}
