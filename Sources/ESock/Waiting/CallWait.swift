/// The wait of the one async socket call an ``AsyncCallSlot`` serves at a time (see
/// ``Socket/perform(_:timeout:)`` and `AsyncCallSlots`): what it waits for, its continuation
/// while it is suspended, what woke it, and its deadline's timer. Every pending connection of
/// an async server has one (docs/architecture.md, "Async calls and memory").
///
/// The transitions are mutating functions that say what to do after the lock (which
/// continuation to resume); the slot runs them under its lock and acts after it.
struct CallWait {
    // Declared largest first, the flags last, so that they share the last word (113 -> 99 B in
    // every slot).
    /// What woke it, for the end to take.
    private var woken: Mailbox.Wake?
    /// Counts the waits, so that a late timer or cancel handler of an earlier wait is told
    /// apart (never 0).
    private(set) var generation: UInt64 = 0
    /// The operation whose message the call waits for.
    private(set) var waitedHandle = Handle(id: 0)
    /// Set while it is suspended and nobody has woken it: whoever wakes it takes this.
    private var continuation: UnsafeContinuation<Void, Never>?
    /// Its deadline's timer, once scheduled.
    private var timer: UInt64?
    /// Set from the start of a wait to its end.
    private(set) var isActive = false
    /// Whether it asked its backend to poll while it waits (not when it never suspended).
    private(set) var demanded = false

    /// The start of a wait for the message about `handle`; `ready` (the message, found in the
    /// queue) wakes it at once, and then it asks no backend to poll. Returns the wait's
    /// generation.
    mutating func begin(_ handle: Handle, ready: Mailbox.Wake?) -> UInt64 {
        assert(!isActive, "a slot serves one async call at a time")
        generation = generation == .max ? 1 : generation + 1
        isActive = true
        waitedHandle = handle
        woken = ready
        demanded = ready == nil
        return generation
    }

    /// Whether it was woken since it began (not yet suspended: cancelled, or its message was
    /// found at its start).
    var isWoken: Bool { woken != nil }

    /// The suspension of the wait of `generation` with `c`: false when it was woken already
    /// (since its start, or by `ready`: the message, found in the queue, or the task's
    /// cancellation), and then `c` is to be resumed at once.
    mutating func park(_ c: UnsafeContinuation<Void, Never>, generation: UInt64, ready: Mailbox.Wake?) -> Bool {
        assert(isActive && generation == self.generation, "a call's wait parked after its end")
        if woken == nil { woken = ready }
        if woken != nil { return false }
        continuation = c
        return true
    }

    /// Whether a posted message about `handle` is for the suspended wait.
    func takes(_ handle: Handle?) -> Bool {
        continuation != nil && handle == waitedHandle
    }

    /// Wakes the suspended wait with `wake` and hands over its continuation to resume; nil when
    /// it is not suspended.
    mutating func wake(_ wake: Mailbox.Wake) -> UnsafeContinuation<Void, Never>? {
        guard let c = continuation.take() else { return nil }
        woken = wake
        return c
    }

    /// The wake-up of a cancel handler or a timer for the wait of `generation`: a suspended
    /// wait's continuation is handed over; one not suspended yet is marked, so that it does
    /// not suspend. Nothing when the wait is over or woken already.
    mutating func withdraw(generation: UInt64, with wake: Mailbox.Wake) -> UnsafeContinuation<Void, Never>? {
        guard isActive, generation == self.generation, woken == nil else { return nil }
        if let c = self.wake(wake) { return c }
        woken = wake
        return nil
    }

    /// Records the timer of the wait of `generation`; false when that wait is over (the caller
    /// cancels the timer).
    mutating func setTimer(_ id: UInt64, generation: UInt64) -> Bool {
        guard isActive, generation == self.generation else { return false }
        timer = id
        return true
    }

    /// The end of the wait: what woke it, whether it asked its backend to poll (to give that
    /// back), and its timer (to cancel unless it fired).
    mutating func end() -> (wake: Mailbox.Wake?, demanded: Bool, timer: UInt64?) {
        assert(continuation == nil, "a call's wait ended while it was suspended")
        isActive = false
        return (woken.take(), demanded, timer.take())
    }
}
