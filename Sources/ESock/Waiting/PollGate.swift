#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Something a thread sleeps on that the gate can wake: a mailbox's or a latch's waiter.
typealias GateWaiter = BlockingWaiter

/// Decides which thread waits in a backend's kernel wait: at most one at a time (leader and
/// followers).
///
/// A thread that blocks on a mailbox or latch takes the role itself when it is free, so the
/// kernel's completion work runs on the thread that wants the result and no other thread has to
/// be woken to hand it over. The others sleep on their own mailbox or latch; when the leader is
/// done it hands the role to one of them. The backend's background thread polls only when no
/// thread does and someone needs it: an asynchronous waiter, or a waiter whose mailbox spans two
/// backends.
// @unchecked Sendable: every mutable field is guarded by `mutex`; the rest are atomics or `let`.
final class PollGate: @unchecked Sendable {
    private enum Owner { case none, background, thread }

    // All fields are guarded by `mutex` (which, not the runtime's exclusivity check, keeps
    // accesses apart); `cond` wakes the background thread.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let cond: UnsafeMutablePointer<pthread_cond_t>
    @exclusivity(unchecked) private var owner = Owner.none
    @exclusivity(unchecked) private var followers = FollowerQueue()
    /// Asynchronous waiters needing the background thread to poll: changed without the mutex
    /// (each async wait adds one and takes one away), read under it by the background thread.
    private let backgroundDemand = Atomic<Int>(0)
    @exclusivity(unchecked) private var stopping = false
    /// Threads in ``awaitIdle()``.
    @exclusivity(unchecked) private var idleWaiters = 0
    /// Work for the background thread: jobs of tasks that prefer the backend's executor, and
    /// code given to `run`.
    @exclusivity(unchecked) private var jobs: [BackgroundWork] = []
    /// The background thread (pthread_t), 0 until it first runs.
    private let backgroundThread = Atomic<UInt>(0)
    /// The thread holding the role (pthread_t), 0 when none: readable without the mutex, so
    /// that a submitter can tell whether a kernel wait will pick up what it prepares.
    private let leadingThread = Atomic<UInt>(0)
    /// False for the harvester-only model: the background thread always polls, waiting callers
    /// only sleep. Kept to measure the two models against each other.
    let callersLead: Bool

    init(callersLead: Bool = true) {
        self.callersLead = callersLead
        if !callersLead { backgroundDemand.store(1, ordering: .relaxed) }
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        cond = .allocate(capacity: 1)
        pthread_cond_init(cond, nil)
    }

    deinit {
        followers.removeAll()
        pthread_cond_destroy(cond)
        cond.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Takes the role for the calling thread if it is free. Otherwise registers `waiter` to be
    /// woken when it frees and returns false; `kick` is then true when the background thread
    /// holds the role and must be made to give it up.
    func tryLead(_ waiter: GateWaiter) -> (lead: Bool, kick: Bool) {
        // The background thread itself may block too, in a job of a task on the backend's
        // executor (a cancel waiting for its CQE): it is the poller in every model, so it leads.
        guard callersLead || isBackgroundThread else { return (false, false) }
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        // A stopped backend's kernel wait is not entered again.
        if stopping { return (false, false) }
        if owner == .none {
            setOwner(.thread)
            return (true, false)
        }
        followers.append(waiter)
        return (false, owner == .background)
    }

    /// Gives the role to the calling thread (`.thread`, `.background`) or frees it, keeping the
    /// lock-free mirror `leadingThread` in step. Called with `mutex` held.
    private func setOwner(_ new: Owner) {
        owner = new
        leadingThread.store(new == .none ? 0 : UInt(pthread_self()), ordering: .sequentiallyConsistent)
    }

    /// Takes the role for the calling thread if it is free, without registering as a follower.
    func tryLeadNow() -> Bool {
        guard callersLead || isBackgroundThread else { return false }
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        guard owner == .none, !stopping else { return false }
        setOwner(.thread)
        return true
    }

    /// A follower woke up (it got what it waited for, timed out, or was handed the role). If the
    /// role was handed to it while it woke for another reason, it passes the role on: a waiter
    /// that no longer needs the role must not keep the others asleep with nobody polling.
    func leave(_ waiter: GateWaiter) {
        pthread_mutex_lock(mutex)
        if followers.remove(waiter) {
            pthread_mutex_unlock(mutex)
            return
        }
        let next = owner == .none ? followers.removeFirst() : nil
        if owner == .none && next == nil && backgroundDemand.load(ordering: .sequentiallyConsistent) > 0 { pthread_cond_signal(cond) }
        pthread_mutex_unlock(mutex)
        next?.wakeForTurn()
    }

    /// The leading thread gives the role up: the next follower, if any, is woken to take it;
    /// else the background thread, if anyone needs it. Call without holding a waiter's lock.
    func release() {
        _ = giveUpRole(takingWork: false)
    }

    /// ``release()``, and, when the caller is the background thread (blocked in a call of its
    /// own: a `run` body, a nowait loop's receive), the work queued for it meanwhile, taken in
    /// the same critical section (nil when there is none): one lock per leading turn, where a
    /// separate take cost a second.
    func releaseTakingWork() -> [BackgroundWork]? {
        giveUpRole(takingWork: isBackgroundThread)
    }

    private func giveUpRole(takingWork: Bool) -> [BackgroundWork]? {
        pthread_mutex_lock(mutex)
        setOwner(.none)
        let next = followers.removeFirst()
        if idleWaiters > 0 {
            pthread_cond_broadcast(cond)
        } else if next == nil && backgroundDemand.load(ordering: .sequentiallyConsistent) > 0 {
            pthread_cond_signal(cond)
        }
        var work: [BackgroundWork]? = nil
        if takingWork && !jobs.isEmpty {
            work = jobs
            jobs.removeAll(keepingCapacity: true)
        }
        pthread_mutex_unlock(mutex)
        next?.wakeForTurn()
        return work
    }

    /// Someone who cannot poll (an asynchronous waiter) starts (+1) or stops (-1) needing the
    /// background thread; returns whether the background thread was woken to poll.
    ///
    /// The count changes without the mutex: with many tasks waiting it is above zero and
    /// nothing is to be woken (two lock round trips per wait, on a lock the background thread
    /// holds as it hands out work, were saved). Only a rise from none (or `delta` 0, a request
    /// to look again) takes the mutex to wake the background thread: it reads the count under
    /// the mutex before it sleeps, so the wake-up is not lost.
    func demandBackground(_ delta: Int) -> Bool {
        let before = backgroundDemand.wrappingAdd(delta, ordering: .sequentiallyConsistent).oldValue
        if delta < 0 || (delta > 0 && before > 0) { return false }
        pthread_mutex_lock(mutex)
        let start = backgroundDemand.load(ordering: .sequentiallyConsistent) > 0 && owner == .none
        if start { pthread_cond_signal(cond) }
        pthread_mutex_unlock(mutex)
        return start
    }

    /// What the background thread does next.
    enum BackgroundTurn {
        /// Wait in the kernel once (it holds the role), then ``releaseBackground()``.
        case poll
        /// Run this work (jobs of tasks on the backend's executor, code given to `run`).
        case run([BackgroundWork])
        /// The backend stops.
        case stop
    }

    /// The background thread waits until it has jobs to run or should poll.
    func awaitBackgroundTurn() -> BackgroundTurn {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        backgroundThread.store(UInt(pthread_self()), ordering: .relaxed)
        while true {
            if !jobs.isEmpty {
                let batch = jobs
                jobs.removeAll(keepingCapacity: true)
                return .run(batch)
            }
            if stopping { return .stop }
            if owner == .none && backgroundDemand.load(ordering: .sequentiallyConsistent) > 0 && followers.isEmpty {
                setOwner(.background)
                return .poll
            }
            pthread_cond_wait(cond, mutex)
        }
    }

    /// Queues a job for the background thread (see ``BackendExecutor``). Returns true when the
    /// background thread is inside the kernel wait and must be kicked out of it: the caller is
    /// another thread. A job queued by the background thread itself (a task resumed while it
    /// delivers) runs as soon as its poll returns.
    func enqueue(_ job: UnownedJob) -> Bool {
        pthread_mutex_lock(mutex)
        jobs.append(.job(job))
        // The background thread in the kernel wait, for its loop or inside a blocking call of
        // its own (then it leads as a thread).
        let polling = owner != .none && leadingThread.load(ordering: .relaxed) == backgroundThread.load(ordering: .relaxed)
        pthread_cond_signal(cond)
        pthread_mutex_unlock(mutex)
        return polling && backgroundThread.load(ordering: .relaxed) != UInt(pthread_self())
    }

    /// Queues code for the background thread (``IOBackend/run(_:)``); false when the backend
    /// stopped.
    func enqueue(call: @escaping () -> Void) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        guard !stopping else { return false }
        jobs.append(.call(call))
        pthread_cond_signal(cond)
        return true
    }

    /// Whether work waits for the background thread (for tests that hold that thread in a job
    /// until another thread hands it something).
    var hasWork: Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return !jobs.isEmpty
    }

    /// The background thread gives the role up after one poll.
    func releaseBackground() {
        pthread_mutex_lock(mutex)
        setOwner(.none)
        let next = followers.removeFirst()
        if idleWaiters > 0 { pthread_cond_broadcast(cond) }
        pthread_mutex_unlock(mutex)
        next?.wakeForTurn()
    }

    /// True when work prepared for the kernel now may wait for the next kernel wait: nobody
    /// holds the role (whoever takes it next hands the work over first), or the calling thread
    /// does (it hands it over when it waits again). False when another thread may be inside the
    /// kernel wait already: the work must go to the kernel at once.
    var mayDefer: Bool {
        let t = leadingThread.load(ordering: .sequentiallyConsistent)
        return t == 0 || t == UInt(pthread_self())
    }

    /// Whether the calling thread is the backend's background thread.
    var isBackgroundThread: Bool { backgroundThread.load(ordering: .relaxed) == UInt(pthread_self()) }

    /// Ends the background thread's loop (after the jobs queued so far) and keeps every thread
    /// out of the kernel wait from now on.
    func stop() {
        pthread_mutex_lock(mutex)
        stopping = true
        pthread_cond_broadcast(cond)
        pthread_mutex_unlock(mutex)
    }

    /// After ``stop()``: waits until no thread is in the kernel wait any more (a caller that
    /// was leading when the backend stopped returns from it once kicked), so that the backend's
    /// kernel objects can be released.
    func awaitIdle() {
        pthread_mutex_lock(mutex)
        while owner != .none {
            idleWaiters += 1
            pthread_cond_wait(cond, mutex)
            idleWaiters -= 1
        }
        pthread_mutex_unlock(mutex)
    }
}

/// Work the background thread runs between its kernel waits.
enum BackgroundWork {
    /// A job of a task that prefers the backend's executor.
    case job(UnownedJob)
    /// Code given to ``IOBackend/run(_:)``.
    case call(() -> Void)
}
