/// The operations of one basic type on a socket (accept, recv, send, connect): one current
/// operation and, behind it, the other callers' operations in arrival order, as in OTP. A view of
/// one lane of the socket's ``OperationQueues``, guarded, as they are, by the socket's state lock.
struct OperationQueue {
    /// Which of a socket's four queues.
    enum Lane: Int { case accept, recv, send, connect }

    let queues: OperationQueues
    let lane: Lane

    var current: Operation? {
        get { queues.slots[lane.rawValue].current }
        nonmutating _modify { yield &queues.slots[lane.rawValue].current }
    }

    var waiting: [Operation] {
        get { queues.slots[lane.rawValue].waiting }
        nonmutating _modify { yield &queues.slots[lane.rawValue].waiting }
    }

    /// Operations present, current and queued.
    var count: Int { (current == nil ? 0 : 1) + waiting.count }

    /// Every operation, current first.
    var all: [Operation] { (current.map { [$0] } ?? []) + waiting }
}

/// A socket's four operation queues in one object: one allocation per socket, and the readers'
/// and writers' in one cache line (four objects cost 144 B more per connection, and touched more
/// lines per message at 10,000 connections; docs/architecture.md). Guarded by the socket's state
/// lock: the lock, not the runtime's dynamic exclusivity check, keeps accesses apart
/// (`@exclusivity(unchecked)`: the check cost a tenth of the instructions per message,
/// docs/architecture.md). Reached through ``OperationQueue`` views.
final class OperationQueues {
    /// One lane's operations.
    struct Slot {
        var current: Operation?
        var waiting: [Operation] = []
    }

    /// By ``OperationQueue/Lane``'s raw value (an inline array: its elements are reached by
    /// address, with no accessor coroutine per access).
    @exclusivity(unchecked) fileprivate var slots = InlineArray<4, Slot>(repeating: Slot())
}
