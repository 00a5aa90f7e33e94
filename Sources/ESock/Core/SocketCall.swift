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
    // nonisolated(unsafe): written once by the lazy initializer (which Swift runs exactly once,
    // thread-safely), only read afterwards.
    nonisolated(unsafe) private static var key: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k) { if let p = $0 { Unmanaged<Mailbox>.fromOpaque(p).release() } }
        return k
    }()

    static func take() -> Mailbox {
        if let p = pthread_getspecific(key) {
            pthread_setspecific(key, nil)
            return Unmanaged<Mailbox>.fromOpaque(p).takeRetainedValue()
        }
        return pool.withLock { $0.popLast() } ?? Mailbox()
    }

    static func give(_ mailbox: Mailbox) {
        mailbox.resetForReuse()
        if pthread_getspecific(key) == nil {
            pthread_setspecific(key, Unmanaged.passRetained(mailbox).toOpaque())
            return
        }
        pool.withLock { if $0.count < 256 { $0.append(mailbox) } }
    }
}

/// What one step of a waiting call gives: its value, or the handle of the operation to wait for.
enum CallStep<Value> {
    case done(Value)
    case wait(Handle)
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
    /// Tries the operation without waiting (again, after a select message).
    mutating func attempt(_ socket: Socket, _ mailbox: Mailbox) throws(SocketError) -> CallStep<Value>
    /// The value a completion message carries.
    func finish(_ status: CompletionStatus) throws(SocketError) -> Value
    /// What the operation had moved when it was cancelled (timeout or task cancellation).
    func partial(at cancelled: Operation) -> SocketError.Partial?
    /// An error of the call, completed with what moved before it.
    func decorate(_ error: SocketError) -> SocketError
}

extension SocketCall {
    func partial(at cancelled: Operation) -> SocketError.Partial? { nil }
    func decorate(_ error: SocketError) -> SocketError { error }
}

extension Socket {
    /// Runs `call`, blocking the thread at most until `timeout` passes.
    func perform<Call: SocketCall>(_ call: Call, timeout: Timeout) throws(SocketError) -> Call.Value {
        var call = call
        let deadline = timeout.deadline()
        let mailbox = PrivateMailbox.current
        do throws(SocketError) {
            while true {
                let handle: Handle
                switch try call.attempt(self, mailbox) {
                case .done(let value): return value
                case .wait(let h): handle = h
                }
                let snapshot = call
                switch try waitFor(handle, call.tag, in: mailbox, until: deadline, cancelled: snapshot.partial(at:)) {
                case .retry: continue
                case .completed(let status): return try call.finish(status)
                }
            }
        } catch {
            throw call.decorate(error)
        }
    }

    /// Runs `call`, suspending the task; cancelling the task cancels the operation (Erlang's
    /// cancel/2) and throws ``SocketError/Reason/cancelled`` with what moved.
    nonisolated(nonsending) func perform<Call: SocketCall>(_ call: Call) async throws(SocketError) -> Call.Value {
        var call = call
        let mailbox = AsyncMailboxes.take()
        defer { AsyncMailboxes.give(mailbox) }
        do throws(SocketError) {
            while true {
                let handle: Handle
                switch try call.attempt(self, mailbox) {
                case .done(let value): return value
                case .wait(let h): handle = h
                }
                let snapshot = call
                switch try await awaitWakeup(handle, call.tag, in: mailbox, cancelled: snapshot.partial(at:)) {
                case .retry: continue
                case .completed(let status): return try call.finish(status)
                }
            }
        } catch {
            throw call.decorate(error)
        }
    }
}
