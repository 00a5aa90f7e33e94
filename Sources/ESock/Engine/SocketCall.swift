#if canImport(Glibc)
import Glibc
#endif
import Synchronization

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
    mutating func attempt(_ socket: Socket, _ caller: Caller, mayWait: Bool) throws(SocketError) -> CallStep<Value>
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

/// A waiting call between its waits: the call, its deadline, and the steps that follow a try or
/// a wake-up. Both drivers (the blocking ``Socket/perform(_:timeout:)`` and the async one) only
/// wait between steps; every step is synchronous, and is kept out of line so that the async
/// driver's frame, which lives on the task's allocator for the whole wait of every pending
/// call, holds this and little else (the temporaries of the steps took 4 KiB per waiting
/// connection when they were in it; docs/architecture.md, "Async calls").
struct CallProgress<Call: SocketCall> {
    var call: Call
    /// The deadline's nanoseconds on CLOCK_MONOTONIC, or one of the two marks: `Int64.max` for
    /// no deadline, `Int64.min` for a zero timeout. One word for `deadline` and `mayWait` (a
    /// `Deadline?` and a `Bool` took two), so that an async receive's or send's state fits 56
    /// bytes, a 64-byte malloc chunk (``AsyncCallSlot/progressCapacity``). A deadline is at
    /// most 100 years away (``Timeout/deadline()``): never a mark.
    private let limit: Int64

    /// When the call's wait ends; nil for none (and for a zero timeout, which never waits).
    var deadline: Deadline? {
        limit == .max || limit == .min ? nil : Deadline(nanoseconds: limit)
    }
    /// False for a zero timeout: the call is made once and never waits (OTP-19063).
    var mayWait: Bool { limit != .min }

    /// What follows a step.
    enum Next {
        case value(Call.Value)
        /// Indirect: a step is a few words, copied inline (`CompactStateTests`).
        indirect case failed(SocketError)
        /// Wait for the message about this handle.
        case wait(Handle)

        /// The handle to wait for; nil when the call is over.
        var waitingFor: Handle? {
            if case .wait(let handle) = self { return handle }
            return nil
        }

        /// The value of the call that is over, or its error.
        func outcome() throws(SocketError) -> Call.Value {
            switch self {
            case .value(let value): return value
            case .failed(let error): throw error
            case .wait(let handle): throw .invalid("the call still waits for \(handle)")
            }
        }
    }

    init(_ call: Call, timeout: Timeout) {
        self.call = call
        limit = timeout.isZero ? .min : (timeout.deadline()?.nanoseconds ?? .max)
    }

    /// Tries the call (first, or again after a select message).
    @inline(never)
    mutating func attempt(_ socket: Socket, _ caller: Caller) -> Next {
        do throws(SocketError) {
            switch try call.attempt(socket, caller, mayWait: mayWait) {
            case .done(let value): return .value(value)
            case .wouldBlock: return fail(.timeout)
            case .wait(let handle): return .wait(handle)
            }
        } catch {
            return fail(error)
        }
    }

    /// The wait for `handle` ended with `wake`: the message's result or another try, or (timed
    /// out, cancelled) the operation cancelled and what it moved reported.
    @inline(never)
    mutating func woke(_ wake: Mailbox.Wake, for handle: Handle, _ socket: Socket, _ caller: Caller) -> Next {
        do throws(SocketError) {
            let snapshot = call
            let wakeup: Socket.Wakeup = switch wake {
            case .message(let message): try socket.wakeup(message)
            case .timedOut: try socket.giveUp(handle, call.tag, in: caller, as: .timeout, cancelled: snapshot.partial(at:))
            case .cancelled, .arrived: try socket.giveUp(handle, call.tag, in: caller, as: .cancelled, cancelled: snapshot.partial(at:))
            }
            switch wakeup {
            case .retry: return attempt(socket, caller)
            case .completed(let status): return .value(try call.finish(status))
            }
        } catch {
            return fail(error)
        }
    }

    /// The call's error, completed with what moved before it; or its value, when the call was
    /// given up after it had moved everything (see ``SocketCall/value(givenUp:with:)``).
    private func fail(_ error: SocketError) -> Next {
        let decorated = call.decorate(error)
        if decorated.reason == .timeout || decorated.reason == .cancelled,
           let value = call.value(givenUp: decorated.reason, with: decorated.partial) { return .value(value) }
        return .failed(decorated)
    }
}

extension Socket {
    /// Runs `call`, blocking the thread at most until `timeout` passes. A zero timeout makes the
    /// call once and never waits (OTP-19063).
    func perform<Call: SocketCall>(_ call: Call, timeout: Timeout) throws(SocketError) -> Call.Value {
        var progress = CallProgress(call, timeout: timeout)
        let mailbox = PrivateMailbox.current
        var next = progress.attempt(self, .mailbox(mailbox))
        while let handle = next.waitingFor {
            let wake: Mailbox.Wake = mailbox.receive(.handle(handle), deadline: progress.deadline).map { .message($0) } ?? .timedOut
            next = progress.woke(wake, for: handle, self, .mailbox(mailbox))
        }
        return try next.outcome()
    }

    /// Runs `call`, suspending the task at most until `timeout` passes (on the backend's
    /// timers; a zero timeout makes the call once and never waits). Cancelling the task cancels
    /// the operation (Erlang's cancel/2) and throws ``SocketError/Reason/cancelled`` with what
    /// moved; a timeout throws ``SocketError/Reason/timeout`` with what moved, as the blocking
    /// form does.
    ///
    /// The frames of a waiting call live on the task's allocator for as long as it waits, and
    /// every pending connection of an async server has them: the call's state is one heap
    /// allocation (``AsyncCallProgress``, freed when the call returns) and its steps are out of
    /// line, so that what the task holds fits in the allocator's first 1,000-byte slab
    /// (docs/architecture.md, "Async calls and memory").
    @inline(__always)
    nonisolated(nonsending) func perform<Call: SocketCall>(_ call: Call, timeout: Timeout) async throws(SocketError) -> Call.Value {
        let state = AsyncCallProgress.start(call, timeout: timeout, on: self)
        while let (wait, slot) = AsyncCallProgress.beginWait(state, self) {
            if let wait { await slot.suspend(wait) }
            AsyncCallProgress.woke(state, self)
        }
        return try AsyncCallProgress.end(state, self)
    }
}

/// The state of an async call between its suspensions: its ``CallProgress``, the step it came
/// to, and the ``AsyncCallSlot`` its messages come to (the caller of its operations). It lives
/// in the slot's memory (or, when larger, memory of its own) from ``start(_:timeout:on:)`` to
/// ``end(_:_:)``, so that the async driver's frame holds a pointer to it and a waiter id (in the frame, a waiting send's state pushed its
/// task past the allocator's first slab: 1,000 bytes more per waiting connection; as a generic
/// class, its deinit looked up its type's metadata on every call). Each step is synchronous and
/// out of line.
struct AsyncCallProgress<Call: SocketCall> {
    private var progress: CallProgress<Call>
    private var next: CallProgress<Call>.Next
    private let slot: AsyncCallSlot

    /// Takes a slot and tries the call; the state is the caller's until ``end(_:_:)``.
    @inline(never)
    static func start(_ call: Call, timeout: Timeout, on socket: Socket) -> UnsafeMutablePointer<Self> {
        let slot = AsyncCallSlots.take(for: socket)
        // In the slot's memory when it fits (it does for every call kind but the largest).
        let state = fitsInSlot ? slot.progressMemory.bindMemory(to: Self.self, capacity: 1)
                               : UnsafeMutablePointer<Self>.allocate(capacity: 1)
        // Tried in place (`next` starts as a placeholder the first attempt replaces): made in
        // locals and then stored, the progress and its step were copied and destroyed.
        state.initialize(to: Self(progress: CallProgress(call, timeout: timeout), next: .wait(Handle(id: 0)), slot: slot))
        state.pointee.next = state.pointee.progress.attempt(socket, .asyncCall(slot))
        return state
    }

    /// Starts the wait for the message the call waits for, in its slot: the wait to suspend
    /// in (nil: the message is there, no need to suspend) and the slot; nil when the call is
    /// over. (The steps take the state's address: a method on `pointee` copied the state into
    /// the frame.)
    @inline(never)
    static func beginWait(_ state: UnsafeMutablePointer<Self>, _ socket: Socket) -> (CallWait.Generation?, AsyncCallSlot)? {
        guard let handle = state.pointee.next.waitingFor else { return nil }
        let slot = state.pointee.slot
        return (slot.begin(handle, polledBy: socket.backend, deadline: state.pointee.progress.deadline), slot)
    }

    /// The wait ended: what woke it decides the next step.
    @inline(never)
    static func woke(_ state: UnsafeMutablePointer<Self>, _ socket: Socket) {
        guard let handle = state.pointee.next.waitingFor else { return }
        // The slot is the state's, lent for the call: the caller made from it takes no count
        // of its own (a counted copy was a retain and a release more per wait).
        state.pointee.next = Unmanaged.passUnretained(state.pointee.slot)._withUnsafeGuaranteedRef { slot in
            state.pointee.progress.woke(slot.end(polledBy: socket.backend), for: handle, socket, .asyncCall(slot))
        }
    }

    /// Whether the state fits in its slot's memory.
    private static var fitsInSlot: Bool {
        MemoryLayout<Self>.size <= AsyncCallSlot.progressCapacity
            && MemoryLayout<Self>.alignment <= AsyncCallSlot.progressAlignment
    }

    /// The call's value or error; the state's memory is freed (unless it is the slot's) and the
    /// slot goes back (no operation of the call can deliver to it any more).
    @inline(never)
    static func end(_ state: UnsafeMutablePointer<Self>, _ socket: Socket) throws(SocketError) -> Call.Value {
        let last = state.move()
        if !fitsInSlot { state.deallocate() }
        AsyncCallSlots.give(last.slot, from: socket)
        return try last.next.outcome()
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
