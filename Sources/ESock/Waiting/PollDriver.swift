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
}

extension PollDriver {
    /// Delivers what the kernel has ready, without waiting, when no other thread is polling
    /// (then that one delivers); submits what was held back for the next kernel wait. For a
    /// caller about to return without waiting: `Mailbox.poll()`, a receive whose time is up.
    func pollNow() {
        guard gate.tryLeadNow() else { return }
        pollOnce(timeout: .zero)
        gate.release()
    }

    /// The background thread's loop: runs the jobs of tasks on the backend's executor, and waits
    /// in the kernel while the gate says nobody else does and someone needs it.
    func runBackground(executor: BackendExecutor) {
        while true {
            switch gate.awaitBackgroundTurn() {
            case .stop:
                return
            case .run(let batch):
                for job in batch { job.runSynchronously(on: executor.asUnownedTaskExecutor()) }
            case .poll:
                pollOnce(timeout: nil)
                gate.releaseBackground()
            }
        }
    }
}
