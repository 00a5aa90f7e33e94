/// The operations of one basic type on a socket (accept, recv, send, connect): one current
/// operation and, behind it, the other callers' operations in arrival order, as in OTP. A view of
/// one lane of the socket's ``OperationQueues``, guarded, as they are, by the socket's state lock.
struct OperationQueue {
    /// Which of a socket's four queues.
    enum Lane { case accept, recv, send, connect }

    let queues: OperationQueues
    let lane: Lane

    var current: Operation? {
        get { queues[lane].current }
        nonmutating _modify { yield &queues[lane].current }
    }

    var waiting: [Operation] {
        get { queues[lane].waiting }
        nonmutating _modify { yield &queues[lane].waiting }
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

    @exclusivity(unchecked) private var slots = (Slot(), Slot(), Slot(), Slot())

    subscript(lane: OperationQueue.Lane) -> Slot {
        _read {
            switch lane {
            case .accept: yield slots.0
            case .recv: yield slots.1
            case .send: yield slots.2
            case .connect: yield slots.3
            }
        }
        _modify {
            switch lane {
            case .accept: yield &slots.0
            case .recv: yield &slots.1
            case .send: yield &slots.2
            case .connect: yield &slots.3
            }
        }
    }
}
