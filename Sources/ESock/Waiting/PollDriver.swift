#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A backend's kernel wait (`epoll_wait`, or `io_uring_enter` waiting for CQEs), which the
/// waiting threads share.
protocol PollDriver: AnyObject, Sendable {
    /// Who may be in ``pollOnce(timeout:)``.
    var gate: PollGate { get }
    /// Waits in the kernel until at least one event, the timeout, or a ``kick()``; delivers
    /// what it harvested. Only the gate's current owner calls it.
    func pollOnce(timeout: Duration?)
    /// Makes a ``pollOnce(timeout:)`` in progress return soon.
    func kick()
    /// A job for the background thread was queued (``BackendExecutor``); `pollerBusy` when the
    /// background thread holds the kernel wait and the caller is another thread.
    func jobQueued(pollerBusy: Bool)
    /// Runs tasks on the background thread.
    var executor: BackendExecutor { get }
    /// Deadlines of asynchronous waits on this backend.
    var timers: TimerQueue { get }
    /// ``PollGate/tryLead(_:)`` on this backend's gate. Each backend implements it and
    /// ``pollAsLeader(timeout:)`` with the extension's ``leadOnce(timeout:)``: in its own class
    /// `gate` and `timers` are constants, read without a reference count, where each read
    /// through the protocol is a retain and a release (two per wait of a mailbox that leads).
    func tryLead(_ waiter: GateWaiter) -> (lead: Bool, kick: Bool)
    /// For a waiter whose ``tryLead(_:)`` made it the leader: ``leadOnce(timeout:)``.
    func pollAsLeader(timeout: Duration?)
    /// ``PollGate/demandBackground(_:)`` on this backend's gate (an async call's wait starts
    /// or ends), implemented with the constant for the same reason as ``tryLead(_:)``.
    func demandBackground(_ delta: Int) -> Bool
}

extension PollDriver {
    /// Delivers what the kernel has ready, without waiting, when no other thread is polling
    /// (then that one delivers); submits what was held back for the next kernel wait. For a
    /// caller about to return without waiting: `Mailbox.poll()`, a receive whose time is up.
    func pollNow() {
        guard gate.tryLeadNow() else { return }
        pollOnce(timeout: .zero)
        timers.fireDue()
        gate.release()
    }

    /// One kernel wait of at most `timeout` (nil: no limit) and until the earliest timer, then
    /// the timers that are due. For the thread that holds the gate.
    @inline(__always)
    func poll(timeout: Duration?) {
        let timers = self.timers
        pollOnce(timeout: timers.limit(timeout))
        timers.fireDue()
    }

    /// The leader's turn: one ``poll(timeout:)``, the gate given back, then, when the leader is
    /// the backend's own thread (blocked in a call of its own: a `run` body, a task's cancel),
    /// the work queued for it meanwhile, which runs here rather than after that call.
    @inline(__always)
    func leadOnce(timeout: Duration?) {
        poll(timeout: timeout)
        if let work = gate.releaseTakingWork() { runWork(work) }
    }

    /// Schedules `action` at `deadline`; wakes the thread in the kernel wait when the deadline is
    /// the earliest now (it waits less). Returns the timer's id.
    func schedule(_ deadline: Deadline, _ action: @escaping @Sendable () -> Void) -> UInt64 {
        let (id, earliest) = timers.schedule(deadline, action)
        if earliest { kick() }
        return id
    }

    /// The background thread's loop: runs the jobs of tasks on the backend's executor and the
    /// code given to `run`, and waits in the kernel while the gate says nobody else does and
    /// someone needs it.
    func runBackground() {
        while true {
            switch gate.awaitBackgroundTurn() {
            case .stop:
                return
            case .run(let batch):
                runWork(batch)
            case .poll:
                poll(timeout: nil)
                gate.releaseBackground()
            }
        }
    }

    /// Runs work queued for the background thread (on it).
    func runWork(_ batch: [BackgroundWork]) {
        for work in batch {
            switch work {
            case .job(let job): job.runSynchronously(on: executor.asUnownedTaskExecutor())
            case .call(let call): call()
            }
        }
    }

    /// Runs `body` on the backend's own thread and returns what it returns, blocking the caller
    /// until then (at once when the caller is that thread).
    func runOnBackgroundThread<T>(_ body: @escaping @Sendable () throws -> T) throws -> T {
        if gate.isBackgroundThread { return try body() }
        let outcome = RunOutcome<T>()
        let done = Latch(expecting: nil)
        guard gate.enqueue(call: { outcome.result = Result { try body() }; done.set() }) else {
            throw SocketError(.backendStopped(String(describing: Self.self)))
        }
        jobQueued(pollerBusy: true)
        done.wait()
        return try outcome.result!.get()
    }
}

/// What code run on a backend's thread returned: written by that thread before the caller's
/// latch is set, read by the caller after it.
// @unchecked Sendable: one write, then one read, ordered by the latch.
final class RunOutcome<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
}
