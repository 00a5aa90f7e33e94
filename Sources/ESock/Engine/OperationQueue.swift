/// The operations of one basic type on a socket (accept, recv, send, connect): one current
/// operation and, behind it, the other callers' operations in arrival order, as in OTP. Guarded by
/// the socket's state lock: the lock, not the runtime's dynamic exclusivity check, keeps accesses
/// apart (`@exclusivity(unchecked)`: the check cost a tenth of the instructions per message,
/// docs/architecture.md).
final class OperationQueue {
    @exclusivity(unchecked) var current: Operation?
    @exclusivity(unchecked) var waiting: [Operation] = []

    /// Operations present, current and queued.
    var count: Int { (current == nil ? 0 : 1) + waiting.count }

    /// Every operation, current first.
    var all: [Operation] { (current.map { [$0] } ?? []) + waiting }
}
