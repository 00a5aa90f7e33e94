/// A task executor that runs tasks on a backend's own thread: the thread that waits in the
/// kernel for the backend (`epoll_wait`, or `io_uring_enter` for CQEs) when no caller does.
///
/// Erlang has no counterpart: there, the process that waits for a socket message is itself
/// scheduled where the message lands. Here, a task suspended in an `async` socket call is
/// resumed by whichever thread delivers its message; on the global executor that resumption is
/// a hand-off to another thread for every message. Tasks that prefer this executor
/// (`Task(executorPreference: backend.executor) { ... }`, inherited by their child tasks) run on
/// the backend's thread instead, between its kernel waits, so a message and the code that
/// handles it stay on one thread, as in an event loop.
///
/// A job enqueued from another thread while the backend's thread waits in the kernel kicks it
/// out of the wait. Jobs queued before the backend shuts down run before its thread ends; jobs
/// queued after it never run, so tasks must not prefer the executor of a backend shut down.
// @unchecked Sendable: `gate` is immutable and itself thread-safe; `driver` is written once, before
// the backend's thread starts, and only read afterwards.
public final class BackendExecutor: TaskExecutor, @unchecked Sendable {
    /// The backend's gate, which holds the queue of jobs.
    let gate: PollGate
    /// The backend, to kick out of its kernel wait. Not retained (the backend owns this
    /// executor); used only while its thread is inside the wait, hence alive.
    unowned(unsafe) var driver: (any IOBackendDriver)!

    init(gate: PollGate) {
        self.gate = gate
    }

    /// Queues `job` for the backend's thread (Swift's `TaskExecutor` requirement).
    public func enqueue(_ job: consuming ExecutorJob) {
        driver.jobQueued(pollerBusy: gate.enqueue(UnownedJob(job)))
    }
}
