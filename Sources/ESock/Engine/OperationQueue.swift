/// One of a socket's four queues of operations of one basic type (accept, recv, send, connect):
/// one current operation and, behind it, the other callers' operations in arrival order, as in
/// OTP. A name, not storage: the queues are in the socket's state (``SocketState``), reached
/// with `state[current: queue]` and `state[waiting: queue]` under the socket's state lock.
///
/// The current operations are inline in the state; the waiting lines, which only a second
/// caller of the same kind on one socket makes, are among the state's rare fields. (The four
/// queues were one object of their own, 96 bytes of malloc chunk per socket; inline, the state
/// grows by four words: docs/architecture.md, "Nineteenth session".)
enum OperationQueue: Int, CaseIterable {
    case acceptors, readers, writers, connectors

    /// The queue an operation of `kind` takes its turn in (sendfile's is the writers').
    init(_ kind: Operation.Kind) {
        switch kind {
        case .accept: self = .acceptors
        case .recv: self = .readers
        case .send, .sendfile: self = .writers
        case .connect: self = .connectors
        }
    }
}

extension SocketState {
    /// The current operation of `queue`: the one that waits (or was tried last), if any.
    subscript(current queue: OperationQueue) -> Operation? {
        @inline(__always) get { currents[queue.rawValue] }
        @inline(__always) set { currents[queue.rawValue] = newValue }
    }

    /// The operations queued behind the current one of `queue`, oldest first. Reading an empty
    /// line makes nothing; a change makes the rare fields (see `rareWaiting`).
    subscript(waiting queue: OperationQueue) -> [Operation] {
        get { waitingLine(queue) }
        _modify { yield &rareWaiting[queue.rawValue] }
    }

    /// Whether operations are queued behind the current one of `queue` (without a copy of the
    /// line: every call asks).
    @inline(__always)
    func hasWaiting(_ queue: OperationQueue) -> Bool { !waitingLine(queue).isEmpty }

    /// Operations present in `queue`, current and queued.
    func count(_ queue: OperationQueue) -> Int {
        (self[current: queue] == nil ? 0 : 1) + waitingLine(queue).count
    }

    /// Every operation of `queue`, current first.
    func all(_ queue: OperationQueue) -> [Operation] {
        (self[current: queue].map { [$0] } ?? []) + waitingLine(queue)
    }

    /// Empties `queue` (close): the current operation and the waiting line, if there is one
    /// (an empty line is not made to be emptied).
    mutating func empty(_ queue: OperationQueue) {
        self[current: queue] = nil
        if hasWaiting(queue) { self[waiting: queue].removeAll() }
    }
}
