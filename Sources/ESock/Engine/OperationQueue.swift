/// The operations of one basic type on a socket (accept, recv, send, connect): one current
/// operation and, behind it, the other callers' operations in arrival order, as in OTP. A view of
/// one lane of the socket's ``OperationQueues``, guarded, as they are, by the socket's state lock.
struct OperationQueue {
    /// Which of a socket's four queues.
    enum Lane { case accept, recv, send, connect }

    let queues: OperationQueues
    let lane: Lane

    var current: Operation? {
        get {
            switch lane {
            case .accept: queues.currents.0
            case .recv: queues.currents.1
            case .send: queues.currents.2
            case .connect: queues.currents.3
            }
        }
        nonmutating _modify {
            switch lane {
            case .accept: yield &queues.currents.0
            case .recv: yield &queues.currents.1
            case .send: yield &queues.currents.2
            case .connect: yield &queues.currents.3
            }
        }
    }

    var waiting: [Operation] {
        get {
            switch lane {
            case .accept: queues.waitings.0
            case .recv: queues.waitings.1
            case .send: queues.waitings.2
            case .connect: queues.waitings.3
            }
        }
        nonmutating _modify {
            switch lane {
            case .accept: yield &queues.waitings.0
            case .recv: yield &queues.waitings.1
            case .send: yield &queues.waitings.2
            case .connect: yield &queues.waitings.3
            }
        }
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
    @exclusivity(unchecked) fileprivate var currents: (Operation?, Operation?, Operation?, Operation?) = (nil, nil, nil, nil)
    @exclusivity(unchecked) fileprivate var waitings: ([Operation], [Operation], [Operation], [Operation]) = ([], [], [], [])
}
