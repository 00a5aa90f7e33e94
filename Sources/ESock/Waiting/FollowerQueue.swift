import Synchronization

/// A waiter's place in a gate's ``FollowerQueue``: its neighbours and which queue holds it.
/// Guarded by the mutex of that queue's gate, not by the waiter's own.
struct FollowerLinks {
    /// The waiter after this one; the queue holds each waiter through its predecessor's `next`
    /// (the first through the queue's head).
    var next: GateWaiter?
    /// The waiter before this one, held by the queue itself.
    unowned(unsafe) var previous: GateWaiter?
    /// The queue holding the waiter (``FollowerQueue/id``); 0 when none does.
    var queue: UInt = 0
}

/// The threads waiting for a ``PollGate``'s role, in the order they asked for it.
///
/// A list through the waiters' own ``FollowerLinks``, so that joining, leaving and taking the
/// first are each a few stores whatever the number of threads waiting. It was an array: every
/// blocked thread that woke searched it and removed itself, a walk and a move of the whole
/// array under the gate's one lock, and with 10,000 threads blocked in receives (a thread per
/// connection) that was most of the server's user time (docs/architecture.md, "Twenty-second
/// session"). Touched only with the gate's mutex held. A waiter is in at most one queue at a
/// time: it follows only the gate of the backend its mailbox expects, and leaves that gate after
/// each sleep (``BlockingWaiter/block(until:_:)``).
struct FollowerQueue {
    /// This queue's name in its waiters' links (unique in the process, never 0).
    let id: UInt
    private var head: GateWaiter?
    private unowned(unsafe) var tail: GateWaiter?

    private static let ids = Atomic<UInt>(0)

    init() {
        id = Self.ids.wrappingAdd(1, ordering: .relaxed).newValue
    }

    var isEmpty: Bool { head == nil }

    /// Whether `waiter` is in this queue.
    func contains(_ waiter: GateWaiter) -> Bool { waiter.followerLinks.queue == id }

    /// Puts `waiter` last, unless it is already in the queue.
    mutating func append(_ waiter: GateWaiter) {
        guard waiter.followerLinks.queue == 0 else {
            assert(waiter.followerLinks.queue == id, "a waiter following two gates at once")
            return
        }
        waiter.followerLinks = FollowerLinks(next: nil, previous: tail, queue: id)
        if let last = tail { last.followerLinks.next = waiter } else { head = waiter }
        tail = waiter
    }

    /// Takes `waiter` out of the queue; false when it was not in it.
    @discardableResult
    mutating func remove(_ waiter: GateWaiter) -> Bool {
        guard waiter.followerLinks.queue == id else { return false }
        let links = waiter.followerLinks
        if let before = links.previous { before.followerLinks.next = links.next } else { head = links.next }
        if let after = links.next { after.followerLinks.previous = links.previous } else { tail = links.previous }
        waiter.followerLinks = FollowerLinks()
        return true
    }

    /// Takes the first waiter out of the queue.
    mutating func removeFirst() -> GateWaiter? {
        guard let first = head else { return nil }
        remove(first)
        return first
    }

    /// Empties the queue, one waiter at a time (no chain of releases).
    mutating func removeAll() {
        while removeFirst() != nil {}
    }
}
