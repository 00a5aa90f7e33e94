import Synchronization

/// Where an async socket call's messages go while it runs (``Socket/perform(_:timeout:)``):
/// the caller of its operations, as a mailbox is for nowait and blocking calls, but holding only
/// what one call's wait needs: its ``CallWait``, the message that came before the wait
/// suspended, and a lock. Every pending connection of an async server holds one while it waits;
/// a pooled mailbox in its place held 370 bytes in three allocations (the mailbox, its blocking
/// waiter, its mutex and condition; docs/architecture.md, "Eighth session").
///
/// One call at a time: a slot is taken from `AsyncCallSlots` when a call starts and given back
/// when it ends (then no operation of the call can deliver to it any more). Every transition
/// runs under the lock and says what to resume or wake; that is done after the lock.
// @unchecked Sendable: the mutable state is inside the lock.
final class AsyncCallSlot: @unchecked Sendable {
    private struct State {
        var wait = CallWait()
        /// The oldest message kept: the one that woke the wait, or one that came while the wait
        /// was not suspended for it (at most one per operation of the call). Mostly the only
        /// one, and then no array is made.
        var first: SocketMessage?
        /// The messages kept after `first` and a thread waiting for a late one, which few slots
        /// ever have: out of line, made on first use (inline, the slot took a 128-byte malloc
        /// chunk, not 112).
        var late: Late?

        /// The messages kept after `first`, oldest first (a call given up whose operations'
        /// messages came late).
        var more: [SocketMessage] { late?.more ?? [] }

        /// A thread waiting for a given-up operation's late message (``receiveLate(_:polledBy:deadline:)``).
        var lateWaiter: Latch? {
            get { late?.waiter }
            set {
                if let late { late.waiter = newValue } else if let newValue { madeLate().waiter = newValue }
            }
        }

        private mutating func madeLate() -> Late {
            if let late { return late }
            let made = Late()
            late = made
            return made
        }

        /// Takes the oldest message about `handle` out of the slot.
        mutating func take(_ handle: Handle) -> SocketMessage? {
            if first?.handle == handle { return first.take() }
            guard let late, let i = late.more.firstIndex(where: { $0.handle == handle }) else { return nil }
            return late.more.remove(at: i)
        }

        /// Whether a message about `handle` is kept.
        func holds(_ handle: Handle) -> Bool {
            first?.handle == handle || (late?.more.contains { $0.handle == handle } ?? false)
        }

        /// Keeps a message, behind those kept already (`first` is the oldest, so that two
        /// messages about one operation are taken in the order they came).
        mutating func keep(_ message: consuming SocketMessage) {
            if first == nil && more.isEmpty { first = message } else { madeLate().more.append(message) }
        }

        /// Takes every message kept.
        mutating func takeAll() -> [SocketMessage] {
            var all = late?.more ?? []
            late?.more = []
            if let m = first.take() { all.insert(m, at: 0) }
            return all
        }
    }

    /// The rare part of a slot's state (`State.late`), guarded by the slot's lock as the rest.
    private final class Late {
        var more: [SocketMessage] = []
        var waiter: Latch?
    }

    private let state = Locked(State())

    /// Memory for the state of the call the slot serves (`AsyncCallProgress`), reused from call
    /// to call: the common calls' state fits (a receive's or a send's is 56 bytes); a larger one
    /// (sendto, recvfrom, the message calls, sendfile, connect) is allocated apart. (Allocating it per call cost a malloc and a free, ~300 instructions
    /// per async round trip.)
    let progressMemory = UnsafeMutableRawPointer.allocate(byteCount: AsyncCallSlot.progressCapacity,
                                                          alignment: AsyncCallSlot.progressAlignment)
    /// 56: a 64-byte malloc chunk (64 took an 80-byte one).
    static let progressCapacity = 56
    static let progressAlignment = 16

    init() {}

    deinit { progressMemory.deallocate() }

    /// Delivers a message about `op` (or about no operation: `op` nil), unless `op` was
    /// cancelled (checked under the lock, which cancel's flush takes after marking it, as in
    /// ``Mailbox/post(_:unlessWithdrawn:)``): it is kept, and wakes the suspended wait that
    /// waits for it (whose end takes it), or waits for the wait to find it.
    func post(_ message: consuming SocketMessage, unlessWithdrawn op: Operation?) {
        var message: SocketMessage? = consume message
        let (resume, late) = state.withLock { s -> (UnsafeContinuation<Void, Never>?, Latch?) in
            if op?.withdrawn.load(ordering: .sequentiallyConsistent) == true { return (nil, nil) }
            let wakes = s.wait.takes(message!.handle)
            s.keep(message.take()!)
            if wakes, let c = s.wait.wake(.message) { return (c, nil) }
            return (nil, s.lateWaiter.take())
        }
        // A message dropped for a withdrawn operation is destroyed here, after the lock.
        resume?.resume()
        late?.set()
    }

    /// Removes the kept messages about `handle` (cancel: none is seen afterwards); closes a
    /// connection accepted for one.
    func flush(handle: Handle) {
        let removed = state.withLock { s -> [SocketMessage] in
            var removed: [SocketMessage] = []
            while let m = s.take(handle) { removed.append(m) }
            return removed
        }
        SocketMessage.closeAccepted(removed)
    }

    /// Empties the slot for its next call; closes a connection accepted for a message left in
    /// it. No operation of the call that ends can deliver to it any more.
    func reset() {
        // Almost always empty: looked at first, without moving the (empty) arrays.
        guard state.withLock({ $0.first != nil || !$0.more.isEmpty }) else { return }
        SocketMessage.closeAccepted(state.withLock { $0.takeAll() })
    }

    /// Messages kept now (tests' diagnostics).
    var count: Int { state.withLock { ($0.first == nil ? 0 : 1) + $0.more.count } }

    /// Whether a call waits in the slot now (tests' diagnostics).
    var isWaiting: Bool { state.withLock { $0.wait.isActive } }

    // MARK: The call's wait

    /// Starts the wait for the message about `handle`, until the task is cancelled or
    /// `deadline` (nil: no limit) passes on `driver`'s timers, while `driver`'s background
    /// thread polls for it. Returns the wait's generation to ``suspend(_:)`` with, or nil when
    /// the message is here already; ``end(polledBy:)`` then tells what woke it. (In steps, so
    /// that the caller's frame, held by every pending call, holds no `Wake`.)
    @inline(never)
    func begin(_ handle: Handle, polledBy driver: any IOBackendDriver, deadline: Deadline?) -> CallWait.Generation? {
        let (generation, ready) = state.withLock { s -> (CallWait.Generation, Bool) in
            let ready = s.holds(handle)
            return (s.wait.begin(handle, ready: ready), ready)
        }
        if ready { return nil }
        _ = driver.demandBackground(1)
        if let deadline {
            // A timer that fires before the wait suspends marks it: it does not suspend.
            let timer = driver.schedule(deadline) { [self] in self.withdraw(generation, with: .timedOut) }
            if !state.withLock({ $0.wait.setTimer(timer, generation: generation) }) { driver.timers.cancel(timer) }
        }
        return generation
    }

    /// The suspension of the wait of `generation`: resumed by ``post(_:unlessWithdrawn:)``, the
    /// cancel handler or the timer, each of which takes the continuation under the lock first
    /// and leaves what woke it in the slot (no value passes through this frame).
    ///
    /// The `_unsafeInheritExecutor_` forms of the cancellation handler and the continuation do
    /// not hop back to an isolation of their own when the wait ends (two hops fewer per wait,
    /// docs/architecture.md, "Seventh session"). The runtime resumes a continuation's task on
    /// the generic executor, which for a task that prefers the backend's executor is that
    /// executor; the operation closure then switches to the generic executor once (a look-up
    /// of the task's preference), and the `nonisolated(nonsending)` caller hops to its actor,
    /// if any, after this returns, as it does after any call (`ActorIsolationTests`;
    /// "Fourteenth session" for what each of these costs).
    @inline(__always)
    nonisolated(nonsending) func suspend(_ generation: CallWait.Generation) async {
        await _unsafeInheritExecutor_withTaskCancellationHandler {
            // Unsafe (no checking wrapper to allocate): the continuation is taken, and resumed,
            // exactly once.
            await _unsafeInheritExecutor_withUnsafeContinuation { (c: UnsafeContinuation<Void, Never>) in park(c, generation) }
        } onCancel: {
            withdraw(generation, with: .cancelled)
        }
    }

    /// Suspends the wait with `c`, unless it was woken since it began (its message came, its
    /// task was cancelled, its deadline passed: then `c` is resumed at once).
    @inline(never)
    private func park(_ c: UnsafeContinuation<Void, Never>, _ generation: CallWait.Generation) {
        let cancelled = Task.isCancelled
        let suspended = state.withLock { s -> Bool in
            var ready: CallWait.Woken?
            if !s.wait.isWoken {
                ready = s.holds(s.wait.waitedHandle) ? .message : (cancelled ? .cancelled : nil)
            }
            return s.wait.park(c, generation: generation, ready: ready)
        }
        if !suspended { c.resume() }
    }

    /// Wakes the wait of `generation` with `wake` (its task was cancelled, its deadline
    /// passed), unless something woke it first.
    @inline(never)
    private func withdraw(_ generation: CallWait.Generation, with wake: CallWait.Woken) {
        state.withLock { $0.wait.withdraw(generation: generation, with: wake) }?.resume()
    }

    /// The end of the wait: what woke it. The polling it asked of `driver` is given back, and a
    /// wait woken otherwise than by its timer cancels the timer.
    @inline(never)
    func end(polledBy driver: any IOBackendDriver) -> Mailbox.Wake {
        let (woken, message, demanded, timer) = state.withLock { s in
            let (woken, demanded, timer) = s.wait.end()
            // The message that woke it was kept; it is taken here, the oldest about its handle.
            let message = woken == .message ? s.take(s.wait.waitedHandle) : nil
            return (woken, message, demanded, timer)
        }
        if demanded { _ = driver.demandBackground(-1) }
        if let timer, woken != .timedOut { driver.timers.cancel(timer) }
        switch woken {
        case .message?:
            if let message { return .message(message) }
            assertionFailure("a call's wait woken by a message that is not kept")
            return .cancelled
        case .cancelled?: return .cancelled
        case .timedOut?: return .timedOut
        case nil:
            assertionFailure("a call's wait resumed with nothing to wake it")
            return .cancelled
        }
    }

    // MARK: A given-up operation's late message

    /// Blocks the thread until the message about `handle` comes, or `deadline` passes (nil).
    /// For a call whose cancel found its operation ended already: its message is being posted
    /// by the thread that ended it (``Socket/giveUp(_:_:in:as:cancelled:)``). The thread drives
    /// `driver`'s kernel wait while it blocks, when nobody else does.
    func receiveLate(_ handle: Handle, polledBy driver: any PollDriver, deadline: Deadline) -> SocketMessage? {
        while true {
            let (message, latch) = state.withLock { s -> (SocketMessage?, Latch?) in
                if let m = s.take(handle) { return (m, nil) }
                let latch = s.lateWaiter ?? Latch(expecting: driver)
                s.lateWaiter = latch
                return (nil, latch)
            }
            if let message { return message }
            guard let latch, latch.wait(until: deadline) else {
                return state.withLock { s in
                    s.lateWaiter = nil
                    return s.take(handle)
                }
            }
        }
    }
}

/// The slots of async calls, reused. A socket keeps the one its last call gave back
/// (``Socket/spareCallSlot``: its calls mostly alternate, a receive then a send); past that each
/// thread keeps one at hand, and the others wait in a pool. A slot is given back only when its
/// call is over.
enum AsyncCallSlots {
    private static let pool = Locked<[AsyncCallSlot]>([])
    private static let spare = ThreadLocal<AsyncCallSlot>()

    /// A slot for a call on `socket`.
    static func take(for socket: Socket) -> AsyncCallSlot {
        if let kept = socket.spareCallSlot.exchange(nil, ordering: .acquiring) { return kept.takeRetainedValue() }
        return spare.take() ?? pool.withLock { $0.popLast() } ?? AsyncCallSlot()
    }

    /// Gives back the slot of a call on `socket` that is over.
    static func give(_ slot: AsyncCallSlot, from socket: Socket) {
        slot.reset()
        let kept = Unmanaged.passRetained(slot)
        if socket.spareCallSlot.compareExchange(expected: nil, desired: kept, ordering: .releasing).exchanged { return }
        kept.release()
        if spare.put(slot) { return }
        pool.withLock { if $0.count < 256 { $0.append(slot) } }
    }
}
