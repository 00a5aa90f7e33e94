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
/// asynchronously through ``messages`` or ``next(where:)``. A selective receive's predicate runs
/// on the receiving thread with no lock held, so it may use any socket or mailbox.
///
/// A mailbox that owns sockets (it is their controlling process, see
/// ``Socket/open(_:_:_:backend:owner:useRegistry:)``) ends when you call ``end()``, which closes
/// them; until then its sockets keep it, as the registry keeps them, whether or not you do.
// @unchecked Sendable: every mutable field is read and written with `core.mutex` held (`owned`
// is a lock of its own).
public final class Mailbox: @unchecked Sendable, Hashable, CustomStringConvertible {
    /// A number unique to this mailbox in this process (what a pid prints as in ``ESock/i(_:keys:)``).
    public let id = nextMailboxID.wrappingAdd(1, ordering: .relaxed).oldValue

    /// The lock, condition and backend bookkeeping a blocked receiver uses.
    let core = BlockingWaiter()
    private var mutex: UnsafeMutablePointer<pthread_mutex_t> { core.mutex }
    private var cond: UnsafeMutablePointer<pthread_cond_t> { core.cond }
    // Guarded by `core.mutex`: the lock, not the runtime's dynamic exclusivity check, keeps
    // accesses apart (`@exclusivity(unchecked)`: the check cost a tenth of the instructions per
    // message, docs/architecture.md).
    @exclusivity(unchecked) private var queue = MessageQueue()
    @exclusivity(unchecked) private var asyncWaiters: [AsyncWaiter] = []
    @exclusivity(unchecked) private var nextWaiterID: UInt64 = 0

    /// What an asynchronous waiter is woken with.
    enum Wake {
        /// The message it selected (taken out of the queue for it).
        case message(SocketMessage)
        /// A message newer than the ones it looked at arrived (left in the queue): look again.
        case arrived
        /// Its task was cancelled.
        case cancelled
        /// Its deadline passed.
        case timedOut

        var isTimeout: Bool {
            if case .timedOut = self { return true }
            return false
        }
    }

    /// A waiting task's record, from the start of its wait to its end (the waiting task
    /// removes it): what it waits for, and what the end undoes. It is kept here rather than in
    /// the task's frames, which live on the task's allocator for the whole wait.
    private struct AsyncWaiter {
        let id: UInt64
        /// What it takes; nil: it wants to hear of any new message (a predicate looks at it).
        let selection: Selection?
        /// With no selection: the newest message the waiter has seen.
        let seen: UInt64
        /// The backend asked to poll while it waits, whose timers hold its deadline.
        let driver: (any PollDriver)?
        /// Every other backend asked to poll (when no driver is known).
        let others: [any PollDriver]
        let deadline: Deadline?
        /// Its deadline's timer, once scheduled.
        var timer: UInt64?
        /// Set while it is suspended and nobody has woken it: whoever wakes it takes this.
        var continuation: UnsafeContinuation<Void, Never>?
        /// Woken (or, before it suspended, cancelled: then with this).
        var woken: Wake?
    }

    /// Which messages a waiter takes, matched under the mailbox's lock (no user code): every
    /// message, those about one operation (what each async socket call waits for), or those
    /// about one socket.
    enum Selection: Sendable {
        case any
        case handle(Handle)
        case socket(Socket)

        func matches(_ message: SocketMessage) -> Bool {
            switch self {
            case .any: return true
            case .handle(let h): return message.handle == h
            case .socket(let s): return message.socket === s
            }
        }
    }

    /// The sockets this mailbox owns (it is their controlling process), held strongly; each
    /// socket holds its owner too, until it closes (see Socket+Owner.swift).
    private let owned = Locked<[UInt64: Socket]>([:])

    /// An empty mailbox.
    public init() {}

    public var description: String { "#Mailbox<\(id)>" }

    /// Mailboxes are equal when they are the same one (as Erlang pids are).
    public static func == (a: Mailbox, b: Mailbox) -> Bool { a === b }
    public func hash(into h: inout Hasher) { h.combine(ObjectIdentifier(self)) }

    /// The owner's end (Erlang: the process exits): closes every socket this mailbox owns, with
    /// no lock held (their monitors receive DOWN with reason ``DownReason/ownerEnded``), and every
    /// connection accepted for a message still waiting here, which nobody will receive now. The
    /// mailbox stays usable; sockets it comes to own afterwards are closed by the next `end()`.
    public func end() {
        let sockets = owned.withLock { table in
            defer { table.removeAll() }
            return table.values.sorted { $0.id < $1.id }
        }
        for s in sockets { try? s.close(.ownerEnded) }
        pthread_mutex_lock(mutex)
        let accepted = queue.removeAll { if case .completion(_, _, .accepted) = $0 { return true } else { return false } }
        pthread_mutex_unlock(mutex)
        SocketMessage.closeAccepted(accepted)
    }

    /// The open sockets this mailbox owns.
    public var ownedSockets: [Socket] { owned.withLock { $0.values.sorted { $0.id < $1.id } } }

    /// Records that this mailbox owns `socket`.
    func adopt(_ socket: Socket) { owned.withLock { $0[socket.id] = socket } }

    /// Forgets `socket` (closed, or given to another owner).
    func release(_ socket: Socket) { _ = owned.withLock { $0.removeValue(forKey: socket.id) } }

    /// Records that an operation on `driver` will deliver here.
    func expect(_ driver: any PollDriver) { core.expect(driver) }

    /// Tests' diagnostics: async waiters now waiting.
    var asyncWaiterCount: Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return asyncWaiters.count
    }

    /// The number of messages waiting.
    public var count: Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return queue.count
    }

    /// Delivers a message. Called with no socket's lock held (the engine posts after its
    /// transitions); resumes a waiting task or wakes a waiting thread after releasing the lock.
    func post(_ message: consuming SocketMessage) { post(message, unlessWithdrawn: nil) }

    /// Delivers a message about `op`, unless `op` was cancelled (checked under this mailbox's
    /// lock, which cancel's flush takes after marking it: a message posted late is dropped, not
    /// left behind the flush).
    func post(_ message: consuming SocketMessage, unlessWithdrawn op: Operation?) {
        pthread_mutex_lock(mutex)
        // Read through the optional, not bound to a name: a binding was a retain and a release.
        if op?.withdrawn.load(ordering: .sequentiallyConsistent) == true {
            pthread_mutex_unlock(mutex)
            return
        }
        for i in asyncWaiters.indices where asyncWaiters[i].continuation != nil {
            guard asyncWaiters[i].selection?.matches(message) ?? false,
                  let c = takeContinuation(i, woken: .message(message)) else { continue }
            pthread_mutex_unlock(mutex)
            c.resume()
            return
        }
        queue.append(consume message)
        var lookers: [UnsafeContinuation<Void, Never>] = []
        for i in asyncWaiters.indices where asyncWaiters[i].selection == nil {
            if let c = takeContinuation(i, woken: .arrived) { lookers.append(c) }
        }
        let wake = core.sleepers > 0
        let kick = core.driverToKick()
        pthread_mutex_unlock(mutex)
        for c in lookers { c.resume() }
        if wake { pthread_cond_broadcast(cond) }
        kick?.kick()
    }

    /// Removes every waiting message about `handle`; returns how many there were. Used by cancel,
    /// so that no message for a cancelled operation is seen afterwards. A connection accepted
    /// for a removed message is closed: nobody will receive it.
    @discardableResult
    func flush(handle: Handle) -> Int { discard(.handle(handle)) }

    /// Drops every waiting message (left by an earlier call that gave up), without looking in
    /// the kernel. A connection accepted for a dropped message is closed.
    func discardStale() { _ = discard(.any) }

    /// Removes the waiting messages `selection` matches; closes the connections accepted for
    /// them, with no lock held.
    private func discard(_ selection: Selection) -> Int {
        var removed: [SocketMessage] = []
        pthread_mutex_lock(mutex)
        while let m = queue.removeFirst(matching: selection) { removed.append(m) }
        pthread_mutex_unlock(mutex)
        SocketMessage.closeAccepted(removed)
        return removed.count
    }

    /// Takes the oldest message at once, or returns nil when there is none. When the mailbox is
    /// empty and no other thread waits in its backend's kernel wait (and this thread may), it
    /// looks there once, without waiting, so that polling alone moves operations along.
    public func poll() -> SocketMessage? {
        pthread_mutex_lock(mutex)
        let m = queue.removeFirst(matching: .any)
        let driver = m == nil ? core.driver : nil
        pthread_mutex_unlock(mutex)
        guard m == nil, let driver else { return m }
        driver.pollNow()
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return queue.removeFirst(matching: .any)
    }

    /// Waits for the oldest message; nil when `timeout` ran out first.
    public func receive(timeout: Timeout = .infinity) -> SocketMessage? {
        receive(.any, deadline: timeout.deadline())
    }

    /// Waits for the oldest message about `handle` (Erlang's selective receive on a reference),
    /// leaving other messages in place; nil when `timeout` ran out first.
    public func receive(handle: Handle, timeout: Timeout = .infinity) -> SocketMessage? {
        receive(.handle(handle), deadline: timeout.deadline())
    }

    /// Waits for the oldest message for which `matches` is true, leaving other messages in place;
    /// nil when `timeout` ran out first. `matches` runs on this thread with no lock held, once
    /// per message it is shown.
    public func receive(timeout: Timeout = .infinity, where matches: (SocketMessage) -> Bool) -> SocketMessage? {
        let deadline = timeout.deadline()
        var seen: UInt64 = 0
        while true {
            if let m = take(after: &seen, where: matches) { return m }
            pthread_mutex_lock(mutex)
            let arrived = core.block(until: deadline) { queue.newest > seen }
            pthread_mutex_unlock(mutex)
            if !arrived { return take(after: &seen, where: matches) }
        }
    }

    /// The blocking receive of messages a ``Selection`` matches: while none is there, the thread
    /// leads its backend's kernel wait when it may (see ``PollGate``), else sleeps until a
    /// message or its turn comes.
    func receive(_ selection: Selection, deadline: Deadline?) -> SocketMessage? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        // Returned from its own local: the variable the wait below captures was copied on the
        // way out (~200 instructions per message, `Benchmarks/instructions.sh select nowait`).
        if let first = queue.removeFirst(matching: selection) { return first }
        var found: SocketMessage?
        _ = core.block(until: deadline) {
            found = queue.removeFirst(matching: selection)
            // Not `found != nil`: that operator takes the optional by value, a copy of the
            // message (a retain and a release of each of its references).
            if case .none = found { return false }
            return true
        }
        return found
    }

    /// Looks at the messages newer than `seen` with `matches`, outside the lock, and takes the
    /// first it accepts (unless another receiver took it meanwhile); advances `seen`.
    private func take(after seen: inout UInt64, where matches: (SocketMessage) -> Bool) -> SocketMessage? {
        pthread_mutex_lock(mutex)
        let candidates = queue.entries(after: seen)
        let newest = queue.newest
        pthread_mutex_unlock(mutex)
        for (sequence, message) in candidates {
            seen = sequence
            guard matches(message) else { continue }
            pthread_mutex_lock(mutex)
            let taken = queue.remove(sequence: sequence)
            pthread_mutex_unlock(mutex)
            if let taken { return taken }
        }
        // Messages taken by other receivers meanwhile count as seen.
        seen = max(seen, newest)
        return nil
    }

    /// Waits asynchronously for the oldest message for which `matches` is true; nil if the task
    /// is cancelled first. `matches` runs on this task with no lock held. While a task waits, the
    /// backends' background threads poll for it.
    public nonisolated(nonsending) func next(where matches: @escaping @Sendable (SocketMessage) -> Bool = { _ in true }) async -> SocketMessage? {
        var seen: UInt64 = 0
        while true {
            if let m = take(after: &seen, where: matches) { return m }
            switch await wait(nil, after: seen, polledBy: nil, deadline: nil) {
            case .message(let m): return m
            case .arrived: continue
            case .cancelled, .timedOut: return nil
            }
        }
    }

    /// ``next(where:)`` for `selection`, asking only `driver`'s background thread to poll (nil:
    /// every backend's).
    nonisolated(nonsending) func next(_ selection: Selection, polledBy driver: (any PollDriver)?) async -> SocketMessage? {
        switch await wait(selection, after: 0, polledBy: driver, deadline: nil) {
        case .message(let m): return m
        case .arrived, .cancelled, .timedOut: return nil
        }
    }

    /// Suspends until a message `selection` matches (taken for the caller), or, with no
    /// selection, until a message newer than `seen` arrives (left in the queue); or until the
    /// task is cancelled, or `deadline` passes on `driver`'s timers. The work around the
    /// suspension is done by synchronous helpers and the wait's state is kept in its record
    /// here: the frames of a waiting task live on its allocator for as long as it waits, and
    /// an async socket call waits in every pending connection's task.
    private nonisolated(nonsending) func wait(_ selection: Selection?, after seen: UInt64,
                                              polledBy driver: (any PollDriver)?,
                                              deadline: Deadline?) async -> Wake {
        let id = beginWait(selection, after: seen, polledBy: driver, deadline: deadline)
        await suspend(id)
        return endWait(id)
    }

    /// The suspension itself: resumed by `post`, the cancel handler or the timer, each of
    /// which takes the continuation out of the record under the lock first and leaves what
    /// woke it there (no value passes through this frame). Without hops of its own, as
    /// ``AsyncCallSlot/suspend(_:)``.
    @inline(__always)
    private nonisolated(nonsending) func suspend(_ id: UInt64) async {
        await _unsafeInheritExecutor_withTaskCancellationHandler {
            // Unsafe (no checking wrapper to allocate): the record's continuation is taken,
            // and resumed, exactly once.
            await _unsafeInheritExecutor_withUnsafeContinuation { (c: UnsafeContinuation<Void, Never>) in park(c, id) }
        } onCancel: {
            withdraw(waiter: id, with: .cancelled)
        }
    }

    /// The start of a wait: the waiter's record, woken already when what it waits for is there
    /// (then it does not suspend); else its backends are asked to poll while it waits.
    @inline(never)
    private func beginWait(_ selection: Selection?, after seen: UInt64, polledBy driver: (any PollDriver)?,
                           deadline: Deadline?) -> UInt64 {
        pthread_mutex_lock(mutex)
        nextWaiterID += 1
        let id = nextWaiterID
        if let ready = look(selection, after: seen) {
            var waiter = AsyncWaiter(id: id, selection: selection, seen: seen, driver: nil, others: [], deadline: nil)
            waiter.woken = ready
            asyncWaiters.append(waiter)
            pthread_mutex_unlock(mutex)
            return id
        }
        // One driver, or every backend's (the same list on the way out as on the way in).
        let others = driver == nil ? Drivers.all : []
        asyncWaiters.append(AsyncWaiter(id: id, selection: selection, seen: seen, driver: driver, others: others,
                                        deadline: deadline))
        pthread_mutex_unlock(mutex)
        _ = driver?.gate.demandBackground(1)
        for d in others { _ = d.gate.demandBackground(1) }
        return id
    }

    /// Suspends waiter `id` with `c`, unless a message arrived or the task was cancelled since
    /// the first look (then `c` is resumed at once); schedules its deadline.
    @inline(never)
    private func park(_ c: UnsafeContinuation<Void, Never>, _ id: UInt64) {
        pthread_mutex_lock(mutex)
        guard let i = waiterIndex(id) else {
            pthread_mutex_unlock(mutex)
            assertionFailure("waiter \(id) parked after its end")
            c.resume()
            return
        }
        let ready = asyncWaiters[i].woken ?? look(asyncWaiters[i].selection, after: asyncWaiters[i].seen)
            ?? (Task.isCancelled ? .cancelled : nil)
        if let ready {
            asyncWaiters[i].woken = ready
            pthread_mutex_unlock(mutex)
            c.resume()
            return
        }
        asyncWaiters[i].continuation = c
        let (driver, deadline) = (asyncWaiters[i].driver, asyncWaiters[i].deadline)
        pthread_mutex_unlock(mutex)
        guard let deadline, let driver else { return }
        scheduleDeadline(deadline, on: driver, fire: { [self] in self.withdraw(waiter: id, with: .timedOut) },
                         keep: { mailbox, timer in
                             guard let j = mailbox.waiterIndex(id) else { return false }
                             mailbox.asyncWaiters[j].timer = timer
                             return true
                         })
    }

    /// Schedules a wait's deadline on `driver`'s timers (`fire` runs when it passes) and hands
    /// the timer to `keep`, under the lock, to record it in the wait; a wait that ended
    /// meanwhile (`keep` false) has its timer cancelled.
    private func scheduleDeadline(_ deadline: Deadline, on driver: any PollDriver,
                                  fire: @escaping @Sendable () -> Void, keep: (Mailbox, UInt64) -> Bool) {
        let timer = driver.schedule(deadline, fire)
        pthread_mutex_lock(mutex)
        let kept = keep(self, timer)
        pthread_mutex_unlock(mutex)
        if !kept { driver.timers.cancel(timer) }
    }

    /// With the lock held: where waiter `id`'s record is; nil once its wait ended.
    private func waiterIndex(_ id: UInt64) -> Int? {
        // By index, reading only the id (a closure over the elements copied each record).
        for i in asyncWaiters.indices where asyncWaiters[i].id == id { return i }
        return nil
    }

    /// With the lock held: marks waiter `i` woken with `wake` and takes its continuation to
    /// resume (after the lock); nil when it is not suspended or was woken already.
    private func takeContinuation(_ i: Int, woken wake: Wake) -> UnsafeContinuation<Void, Never>? {
        guard let c = asyncWaiters[i].continuation else { return nil }
        asyncWaiters[i].continuation = nil
        asyncWaiters[i].woken = wake
        return c
    }

    /// Wakes waiter `id` with `wake` (its task was cancelled, its deadline passed), unless
    /// something woke it first. A waiter cancelled before it suspended is marked, so that it
    /// does not suspend.
    @inline(never)
    private func withdraw(waiter id: UInt64, with wake: Wake) {
        pthread_mutex_lock(mutex)
        guard let i = waiterIndex(id) else {
            pthread_mutex_unlock(mutex)
            return
        }
        let c = takeContinuation(i, woken: wake)
        if c == nil && asyncWaiters[i].woken == nil { asyncWaiters[i].woken = wake }
        pthread_mutex_unlock(mutex)
        c?.resume()
    }

    /// The end of waiter `id`'s wait: what woke it. Its record goes, the polling asked for is
    /// given back, and a wait woken otherwise than by its timer cancels the timer.
    @inline(never)
    private func endWait(_ id: UInt64) -> Wake {
        pthread_mutex_lock(mutex)
        let i = waiterIndex(id)
        var waiter = i.map { asyncWaiters.remove(at: $0) }
        pthread_mutex_unlock(mutex)
        // What woke it is moved out of the record, not copied.
        guard let wake = waiter?.woken.take(), let waiter else {
            assertionFailure("waiter \(id) resumed with nothing to wake it")
            return .cancelled
        }
        _ = waiter.driver?.gate.demandBackground(-1)
        for d in waiter.others { _ = d.gate.demandBackground(-1) }
        if let timer = waiter.timer, !wake.isTimeout { waiter.driver?.timers.cancel(timer) }
        return wake
    }

    /// With the lock held: the message `selection` takes, or `.arrived` when there is one newer
    /// than `seen` for a predicate to look at; nil when the waiter must wait.
    private func look(_ selection: Selection?, after seen: UInt64) -> Wake? {
        if let selection {
            return queue.removeFirst(matching: selection).map { .message($0) }
        }
        return queue.newest > seen ? .arrived : nil
    }

    /// The mailbox as an asynchronous sequence of messages, oldest first; it ends when the
    /// consuming task is cancelled.
    public var messages: Messages { Messages(mailbox: self, selection: .any) }

    /// The messages about `socket`, oldest first, as an asynchronous sequence (Erlang's selective
    /// receive on the socket); messages about other sockets stay in the mailbox.
    public func messages(about socket: Socket) -> Messages { Messages(mailbox: self, selection: .socket(socket)) }

    /// The messages about the operation with `handle`, oldest first, as an asynchronous sequence
    /// (Erlang's selective receive on a reference); other messages stay in the mailbox.
    public func messages(handle: Handle) -> Messages { Messages(mailbox: self, selection: .handle(handle)) }

    /// An asynchronous sequence over a mailbox's messages, all or those about one socket or one
    /// operation. It ends when the consuming task is cancelled.
    public struct Messages: AsyncSequence, Sendable {
        public typealias Element = SocketMessage
        let mailbox: Mailbox
        let selection: Selection

        public struct AsyncIterator: AsyncIteratorProtocol {
            let mailbox: Mailbox
            let selection: Selection
            public mutating func next() async -> SocketMessage? { await mailbox.next(selection, polledBy: nil) }
        }

        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(mailbox: mailbox, selection: selection) }
    }
}
