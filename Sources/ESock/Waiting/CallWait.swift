/// The wait of the one async socket call an ``AsyncCallSlot`` serves at a time (see
/// ``Socket/perform(_:timeout:)`` and `AsyncCallSlots`): what it waits for, its continuation
/// while it is suspended, what woke it, and its deadline's timer. Every pending connection of
/// an async server has one (docs/architecture.md, "Async calls and memory").
///
/// The transitions are mutating functions that say what to do after the lock (which
/// continuation to resume); the slot runs them under its lock and acts after it.
struct CallWait {
    /// What woke a wait. The message that woke it is not held here: the slot keeps it with the
    /// other messages it keeps, and the end takes it by its handle (a `Mailbox.Wake` here, 25
    /// bytes, put the slot in a 160-byte malloc chunk; without it, 128).
    enum Woken: UInt8 {
        /// The message about the waited operation came (kept in the slot).
        case message
        /// Its task was cancelled.
        case cancelled
        /// Its deadline passed.
        case timedOut
    }

    /// A wait's number among its slot's waits.
    typealias Generation = UInt32

    // Declared so that the 32-bit generation and the three bytes share the first word (32 B;
    // with a 64-bit generation 40, and the slot a 128-byte malloc chunk, not 112).
    /// Counts the waits, so that a late timer or cancel handler of an earlier wait is told
    /// apart (never 0). It wraps after 2^32 waits of one slot: a handler would have to be
    /// late by that many waits of the same slot to be taken for a later wait's (a timer or a
    /// cancel handler runs, or is cancelled, within its wait or just after it).
    private(set) var generation: Generation = 0
    /// What woke it, for the end to take.
    private var woken: Woken?
    /// Set from the start of a wait to its end.
    private(set) var isActive = false
    /// Whether it asked its backend to poll while it waits (not when it never suspended).
    private(set) var demanded = false
    /// The operation whose message the call waits for.
    private(set) var waitedHandle = Handle(id: 0)
    /// Set while it is suspended and nobody has woken it: whoever wakes it takes this.
    private var continuation: UnsafeContinuation<Void, Never>?
    /// Its deadline's timer, once scheduled; 0 when none (``TimerQueue`` numbers them from 1).
    private var timer: UInt64 = 0

    /// The start of a wait for the message about `handle`; `ready` (the message is kept in the
    /// slot already) wakes it at once, and then it asks no backend to poll. Returns the wait's
    /// generation.
    mutating func begin(_ handle: Handle, ready: Bool) -> Generation {
        assert(!isActive, "a slot serves one async call at a time")
        generation = generation == .max ? 1 : generation + 1
        isActive = true
        waitedHandle = handle
        woken = ready ? .message : nil
        demanded = !ready
        return generation
    }

    /// Whether it was woken since it began (not yet suspended: cancelled, or its message was
    /// found at its start).
    var isWoken: Bool { woken != nil }

    /// The suspension of the wait of `generation` with `c`: false when it was woken already
    /// (since its start, or by `ready`: its message is kept in the slot, or the task was
    /// cancelled), and then `c` is to be resumed at once.
    mutating func park(_ c: UnsafeContinuation<Void, Never>, generation: Generation, ready: Woken?) -> Bool {
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

    /// Wakes the suspended wait with `woken` and hands over its continuation to resume; nil
    /// when it is not suspended.
    mutating func wake(_ woken: Woken) -> UnsafeContinuation<Void, Never>? {
        guard let c = continuation.take() else { return nil }
        self.woken = woken
        return c
    }

    /// The wake-up of a cancel handler or a timer for the wait of `generation`: a suspended
    /// wait's continuation is handed over; one not suspended yet is marked, so that it does
    /// not suspend. Nothing when the wait is over or woken already.
    mutating func withdraw(generation: Generation, with woken: Woken) -> UnsafeContinuation<Void, Never>? {
        guard isActive, generation == self.generation, self.woken == nil else { return nil }
        if let c = wake(woken) { return c }
        self.woken = woken
        return nil
    }

    /// Records the timer of the wait of `generation`; false when that wait is over (the caller
    /// cancels the timer).
    mutating func setTimer(_ id: UInt64, generation: Generation) -> Bool {
        guard isActive, generation == self.generation else { return false }
        timer = id
        return true
    }

    /// The end of the wait: what woke it, whether it asked its backend to poll (to give that
    /// back), and its timer (to cancel unless it fired).
    mutating func end() -> (woken: Woken?, demanded: Bool, timer: UInt64?) {
        assert(continuation == nil, "a call's wait ended while it was suspended")
        isActive = false
        let timer = self.timer
        self.timer = 0
        return (woken.take(), demanded, timer == 0 ? nil : timer)
    }
}
