#if canImport(Glibc)
import Glibc
#endif
import Synchronization

private let nextMailboxID = Atomic<UInt64>(1)

/// A thread-safe message queue: what an Erlang process's mailbox is to the `socket` module.
///
/// Every asynchronous (`nowait:`) call names the mailbox its select, completion and abort messages
/// go to; the mailbox also identifies the caller, as Erlang's `self()` does (a second call from the
/// same mailbox replaces a pending select operation, other mailboxes queue behind it).
///
/// Receive by blocking a thread (``receive(timeout:)``, selectively with
/// ``receive(handle:timeout:)`` or ``receive(timeout:where:)``), without waiting (``poll()``), or
/// asynchronously through ``messages`` or ``next(where:)``.
// @unchecked Sendable: every mutable field is read and written with `core.mutex` held (`owned`
// is a Mutex of its own).
public final class Mailbox: @unchecked Sendable, CustomStringConvertible {
    /// A number unique to this mailbox in this process (what a pid prints as in ``ESock/i(_:keys:)``).
    public let id = nextMailboxID.wrappingAdd(1, ordering: .relaxed).oldValue

    /// The lock, condition and backend bookkeeping a blocked receiver uses.
    let core = BlockingWaiter()
    private var mutex: UnsafeMutablePointer<pthread_mutex_t> { core.mutex }
    private var cond: UnsafeMutablePointer<pthread_cond_t> { core.cond }
    // The queue and the asynchronous waiters are guarded by `core.mutex`: the lock, not the
    // runtime's dynamic exclusivity check, keeps accesses apart (`@exclusivity(unchecked)`: the
    // check cost a tenth of the instructions per message, docs/architecture.md).
    @exclusivity(unchecked) private var queue = MessageQueue()
    @exclusivity(unchecked) private var asyncWaiters: [AsyncWaiter] = []
    @exclusivity(unchecked) private var nextWaiterID: UInt64 = 0

    private struct AsyncWaiter {
        let id: UInt64
        let selection: Selection
        let continuation: UnsafeContinuation<SocketMessage?, Never>
    }

    /// Which messages a waiter takes: those about one operation (what every async socket call
    /// waits for: no closure to allocate per wait), or those a predicate accepts.
    enum Selection: Sendable {
        case handle(Handle)
        case predicate(@Sendable (SocketMessage) -> Bool)

        func matches(_ message: SocketMessage) -> Bool {
            switch self {
            case .handle(let h): return message.handle == h
            case .predicate(let p): return p(message)
            }
        }
    }

    /// The sockets this mailbox owns (it is their controlling process), held strongly; each
    /// socket refers back to its owner weakly (see Socket+Owner.swift).
    private let owned = Locked<[UInt64: Socket]>([:])

    /// An empty mailbox.
    public init() {}

    /// A connection accepted for a message nobody received is closed with the mailbox, so that
    /// it does not stay open with no one to use it. The sockets the mailbox owns are closed, as
    /// when an Erlang process exits (their monitors get DOWN with reason `owner_ended`).
    deinit {
        closeOwned()
        while let m = queue.removeFirst(where: { _ in true }) {
            if case .completion(_, _, .accepted(let s)) = m { try? s.close() }
        }
    }

    public var description: String { "#Mailbox<\(id)>" }

    /// The owner's end (Erlang: the controlling process exits): closes every socket this mailbox
    /// owns; their monitors receive DOWN with reason ``DownReason/ownerEnded``. The mailbox
    /// stays usable; sockets it comes to own afterwards are closed by the next `end()`.
    public func end() { closeOwned() }

    /// The open sockets this mailbox owns.
    public var ownedSockets: [Socket] { owned.withLock { $0.values.sorted { $0.id < $1.id } } }

    private func closeOwned() {
        let sockets = owned.withLock { table in
            defer { table.removeAll() }
            return table.values.sorted { $0.id < $1.id }
        }
        for s in sockets { try? s.close(.ownerEnded) }
    }

    /// Records that this mailbox owns `socket`.
    func adopt(_ socket: Socket) { owned.withLock { $0[socket.id] = socket } }

    /// Forgets `socket` (closed, or given to another owner).
    func release(_ socket: Socket) { _ = owned.withLock { $0.removeValue(forKey: socket.id) } }

    /// Records that an operation on `driver` will deliver here.
    func expect(_ driver: any PollDriver) { core.expect(driver) }

    /// The number of messages waiting.
    public var count: Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return queue.count
    }

    /// Delivers a message. Called by the backends, possibly while they hold a socket's lock: it
    /// never calls back into a socket.
    func post(_ message: SocketMessage) {
        pthread_mutex_lock(mutex)
        if !asyncWaiters.isEmpty, let i = asyncWaiters.firstIndex(where: { $0.selection.matches(message) }) {
            let waiter = asyncWaiters.remove(at: i)
            pthread_mutex_unlock(mutex)
            waiter.continuation.resume(returning: message)
            return
        }
        queue.append(message)
        let wake = core.sleepers > 0
        let (leading, leadingDriver) = (core.leader, core.driver)
        pthread_mutex_unlock(mutex)
        if wake { pthread_cond_broadcast(cond) }
        core.kickLeader(leading, leadingDriver)
    }

    /// Removes every waiting message about `handle`; returns how many there were. Used by cancel,
    /// so that no message for a cancelled operation is seen afterwards. A connection accepted
    /// for a removed message is closed: nobody will receive it.
    @discardableResult
    func flush(handle: Handle) -> Int { discard { $0.handle == handle } }

    /// Drops every waiting message (left by an earlier call that gave up), without looking in
    /// the kernel. A connection accepted for a dropped message is closed.
    func discardStale() { _ = discard { _ in true } }

    /// Empties a mailbox whose user is done with it, and makes it forget the backend it expected.
    func resetForReuse() {
        var removed: [SocketMessage] = []
        pthread_mutex_lock(mutex)
        while queue.count > 0, let m = queue.removeFirst(where: { _ in true }) { removed.append(m) }
        core.driver = nil
        core.spansBackends = false
        pthread_mutex_unlock(mutex)
        for case .completion(_, _, .accepted(let s)) in removed { try? s.close() }
    }

    /// Removes the waiting messages `matches` selects; closes the connections accepted for them.
    private func discard(where matches: (SocketMessage) -> Bool) -> Int {
        var removed: [SocketMessage] = []
        pthread_mutex_lock(mutex)
        while let m = queue.removeFirst(where: matches) { removed.append(m) }
        pthread_mutex_unlock(mutex)
        for case .completion(_, _, .accepted(let s)) in removed { try? s.close() }
        return removed.count
    }

    /// Takes the oldest message at once, or returns nil when there is none. When the mailbox is
    /// empty and no other thread waits in its backend's kernel wait, it looks there once,
    /// without waiting, so that polling alone moves operations along.
    public func poll() -> SocketMessage? {
        pthread_mutex_lock(mutex)
        let m = queue.removeFirst { _ in true }
        let driver = m == nil ? core.driver : nil
        pthread_mutex_unlock(mutex)
        guard m == nil, let driver else { return m }
        // Nobody may be waiting in the kernel for this mailbox: look once without waiting.
        driver.pollNow()
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return queue.removeFirst { _ in true }
    }

    /// Waits for the oldest message; nil when `timeout` ran out first.
    public func receive(timeout: Timeout = .infinity) -> SocketMessage? {
        receive(deadline: timeout.deadline()) { _ in true }
    }

    /// Waits for the oldest message about `handle` (Erlang's selective receive on a reference),
    /// leaving other messages in place; nil when `timeout` ran out first.
    public func receive(handle: Handle, timeout: Timeout = .infinity) -> SocketMessage? {
        receive(deadline: timeout.deadline()) { $0.handle == handle }
    }

    /// Waits for the oldest message for which `matches` is true, leaving other messages in place;
    /// nil when `timeout` ran out first.
    public func receive(timeout: Timeout = .infinity, where matches: (SocketMessage) -> Bool) -> SocketMessage? {
        receive(deadline: timeout.deadline(), where: matches)
    }

    /// The blocking receive: while nothing matches, the thread leads its backend's kernel wait
    /// when it can (see ``PollGate``), else sleeps until a message or its turn comes.
    func receive(deadline: ContinuousClock.Instant?, where matches: (SocketMessage) -> Bool) -> SocketMessage? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        var found: SocketMessage? = queue.removeFirst(where: matches)
        if found != nil { return found }
        _ = core.block(until: deadline) {
            found = queue.removeFirst(where: matches)
            return found != nil
        }
        return found
    }

    /// Waits asynchronously for the oldest message for which `matches` is true; nil if the task
    /// is cancelled first. While a task waits, the backends' background threads poll for it.
    public nonisolated(nonsending) func next(where matches: @escaping @Sendable (SocketMessage) -> Bool = { _ in true }) async -> SocketMessage? {
        await next(.predicate(matches), polledBy: nil)
    }

    /// ``next(where:)`` for `selection`, asking only `driver`'s background thread to poll (nil:
    /// every backend's).
    nonisolated(nonsending) func next(_ selection: Selection, polledBy driver: (any PollDriver)?) async -> SocketMessage? {
        pthread_mutex_lock(mutex)
        if let m = queue.removeFirst(where: { selection.matches($0) }) {
            pthread_mutex_unlock(mutex)
            return m
        }
        nextWaiterID += 1
        let id = nextWaiterID
        pthread_mutex_unlock(mutex)
        // One driver, or every backend's (the same list on the way out as on the way in).
        let others = driver == nil ? Drivers.all : []
        _ = driver?.gate.demandBackground(1)
        for d in others { _ = d.gate.demandBackground(1) }
        defer {
            _ = driver?.gate.demandBackground(-1)
            for d in others { _ = d.gate.demandBackground(-1) }
        }
        return await withTaskCancellationHandler {
            // Unsafe (no checking wrapper to allocate): each path below resumes it exactly once,
            // either here or, after it was stored, by `post` or the cancel handler, which both
            // remove it from `asyncWaiters` under the lock first.
            await withUnsafeContinuation { (c: UnsafeContinuation<SocketMessage?, Never>) in
                pthread_mutex_lock(mutex)
                // A message may have arrived, or the task been cancelled, since the first look.
                if let m = queue.removeFirst(where: { selection.matches($0) }) {
                    pthread_mutex_unlock(mutex)
                    c.resume(returning: m)
                } else if Task.isCancelled {
                    pthread_mutex_unlock(mutex)
                    c.resume(returning: nil)
                } else {
                    asyncWaiters.append(AsyncWaiter(id: id, selection: selection, continuation: c))
                    pthread_mutex_unlock(mutex)
                }
            }
        } onCancel: {
            pthread_mutex_lock(mutex)
            let i = asyncWaiters.firstIndex { $0.id == id }
            let waiter = i.map { asyncWaiters.remove(at: $0) }
            pthread_mutex_unlock(mutex)
            waiter?.continuation.resume(returning: nil)
        }
    }

    /// The mailbox as an asynchronous sequence of messages, oldest first; it ends when the
    /// consuming task is cancelled.
    public var messages: Messages { Messages(mailbox: self, matches: { _ in true }) }

    /// The messages about `socket`, oldest first, as an asynchronous sequence (Erlang's selective
    /// receive on the socket); messages about other sockets stay in the mailbox.
    public func messages(about socket: Socket) -> Messages {
        Messages(mailbox: self, matches: { $0.socket === socket })
    }

    /// The messages about the operation with `handle`, oldest first, as an asynchronous sequence
    /// (Erlang's selective receive on a reference); other messages stay in the mailbox.
    public func messages(handle: Handle) -> Messages {
        Messages(mailbox: self, matches: { $0.handle == handle })
    }

    /// An asynchronous sequence over a mailbox's messages, all or those a selection matches. It
    /// ends when the consuming task is cancelled.
    public struct Messages: AsyncSequence, Sendable {
        public typealias Element = SocketMessage
        let mailbox: Mailbox
        let matches: @Sendable (SocketMessage) -> Bool

        public struct AsyncIterator: AsyncIteratorProtocol {
            let mailbox: Mailbox
            let matches: @Sendable (SocketMessage) -> Bool
            public mutating func next() async -> SocketMessage? { await mailbox.next(where: matches) }
        }

        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(mailbox: mailbox, matches: matches) }
    }
}

/// CLOCK_MONOTONIC now plus `d`, as the absolute time pthread_cond_timedwait takes.
func monotonicTimespec(after d: Duration) -> timespec {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    let (secs, attos) = d.components
    var sec = Int(now.tv_sec) + Int(secs)
    var nsec = Int(now.tv_nsec) + Int(attos / 1_000_000_000)
    if nsec >= 1_000_000_000 { sec += 1; nsec -= 1_000_000_000 }
    return timespec(tv_sec: sec, tv_nsec: nsec)
}

/// A growable ring buffer of messages with removal by predicate (selective receive).
struct MessageQueue {
    private var storage: [SocketMessage?] = Array(repeating: nil, count: 16)
    private var head = 0
    private(set) var count = 0

    mutating func append(_ m: SocketMessage) {
        if count == storage.count { grow() }
        storage[(head + count) & (storage.count - 1)] = m
        count += 1
    }

    /// Removes and returns the oldest message matching `predicate`.
    mutating func removeFirst(where predicate: (SocketMessage) -> Bool) -> SocketMessage? {
        let mask = storage.count - 1
        for i in 0..<count {
            let slot = (head + i) & mask
            guard let m = storage[slot], predicate(m) else { continue }
            if i == 0 {
                storage[slot] = nil
                head = (head + 1) & mask
                count -= 1
            } else {
                // Close the gap by moving the later messages one slot forward.
                for j in i..<(count - 1) { storage[(head + j) & mask] = storage[(head + j + 1) & mask] }
                storage[(head + count - 1) & mask] = nil
                count -= 1
            }
            return m
        }
        return nil
    }

    private mutating func grow() {
        var bigger = [SocketMessage?](repeating: nil, count: storage.count * 2)
        for i in 0..<count { bigger[i] = storage[(head + i) & (storage.count - 1)] }
        storage = bigger
        head = 0
    }
}
