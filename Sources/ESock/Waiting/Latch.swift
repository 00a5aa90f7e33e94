#if canImport(Glibc)
import Glibc
#endif

/// A one-shot event a thread can wait for: set once, then every wait returns at once. A
/// waiting thread drives the backend's kernel wait when it may, since the event it waits for
/// (an operation's last CQE) may need someone to harvest it.
// @unchecked Sendable: `isSet` is read and written with the inherited mutex held.
final class Latch: BlockingWaiter, @unchecked Sendable {
    @exclusivity(unchecked) private var isSet = false

    init(expecting driver: (any PollDriver)?) {
        super.init()
        if let driver { self.driver = driver }
    }

    func set() {
        pthread_mutex_lock(mutex)
        isSet = true
        let kick = driverToKick()
        pthread_mutex_unlock(mutex)
        pthread_cond_broadcast(cond)
        kick?.kick()
    }

    /// Waits until the latch is set or `deadline` (nil: no limit) passes; returns whether it
    /// was set.
    @discardableResult
    func wait(until deadline: Deadline? = nil) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return block(until: deadline) { isSet }
    }
}
