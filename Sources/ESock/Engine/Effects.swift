/// One thing a socket's state transition asks for, done once the socket's lock is released.
///
/// Transitions (`SocketState+Transitions.swift`) decide what must happen; ``Socket`` performs it
/// after the critical region (`Socket+Engine.swift`), so that no message is posted, no task
/// resumed, no descriptor closed, no kernel request handed over and no object freed while a
/// socket's lock is held.
enum Effect {
    /// Deliver `message` to `mailbox`.
    case post(Mailbox, SocketMessage)
    /// Deliver `message`, about `op`, to `op`'s mailbox, unless `op` was cancelled meanwhile
    /// (``Operation/withdrawn``): after cancel returns, no message for its handle arrives, though
    /// the transition that made this one ran before the cancel did (OTP 27's guarantee).
    case notify(Operation, SocketMessage)
    /// An operation on the socket's backend will deliver to `mailbox`: a thread blocked on it
    /// may then drive that backend's kernel wait.
    case expect(Mailbox)
    /// Hand an operation to the kernel (completion backend: its SQE).
    case arm(Operation)
    /// Ask the kernel to cancel an armed operation; its last completion still comes.
    case cancelInKernel(Operation)
    /// An armed accept got a connection: wrap the descriptor into a socket and post the
    /// operation's completion message with it.
    case deliverAccepted(Operation, Int32)
    /// Close a descriptor nobody will use (a connection accepted for a cancelled accept, once the
    /// socket closed).
    case closeDescriptor(Int32)
    /// Close the descriptors a dropped message carried (`SCM_RIGHTS`). Indirect, as the large
    /// payloads of ``SocketMessage`` are: an effect is 34 bytes (`CompactStateTests`).
    indirect case closeCarried(Msg)
    /// Wake the threads waiting for `latch`.
    case signal(Latch)
    /// Tell the owner which counters wrapped (`{otp, iow}`).
    case counterWraps([String])
    /// Write an `{otp, debug}` trace line.
    case trace(String)
    /// Drop the engine's reference to an operation outside the lock (its buffers are freed then).
    case release(Operation)
}

/// The effects of one transition, in order. The first two are stored inline: the common
/// transitions (a completion, a select message, a send handed to the ring) ask for one or two
/// and allocate nothing (an array from the first effect cost a malloc and a free per echoed
/// message on the completion backend; docs/architecture.md, "Allocations per operation").
struct Effects {
    private var first: Effect?
    private var second: Effect?
    private var rest: [Effect] = []
    /// How many of `rest` `next()` has handed out.
    private var taken = 0

    init() {}

    @inline(__always)
    mutating func append(_ effect: consuming Effect) {
        assert(taken == 0, "an effect appended while the list is being drained")
        if first == nil { first = effect } else if second == nil { second = effect } else { rest.append(effect) }
    }

    var isEmpty: Bool { first == nil }

    /// Takes the next effect out of the list, in the order they were appended; nil when the
    /// list is empty, which it then is. The first two are moved out (a copy retained and
    /// released every reference an effect holds); the rarer overflow is read in place, one
    /// after the other, and let go at its end: constant work per effect (removing each from the
    /// front moved every later effect, quadratic for a close that aborts thousands of queued
    /// operations; reversing it first made a new copy of the array each time).
    mutating func next() -> Effect? {
        if let e = first.take() {
            first = second.take()
            return e
        }
        guard taken < rest.count else {
            if !rest.isEmpty {
                rest = []
                taken = 0
            }
            return nil
        }
        taken += 1
        return rest[taken - 1]
    }
}
