#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A mutex and condition variable a thread blocks on, driving the backend's kernel wait itself
/// when it can (see ``PollGate``). The base of ``Mailbox`` and ``Latch``.
// @unchecked Sendable: every mutable field is guarded by `mutex`.
class BlockingWaiter: @unchecked Sendable {
    let mutex: UnsafeMutablePointer<pthread_mutex_t>
    let cond: UnsafeMutablePointer<pthread_cond_t>
    /// Threads asleep on `cond`. Guarded by `mutex`.
    @exclusivity(unchecked) var sleepers = 0
    /// The backend whose messages this waiter expects; nil when unknown or more than one.
    /// Guarded by `mutex`.
    @exclusivity(unchecked) var driver: (any PollDriver)? {
        didSet { expectedDriver.store(driver.map { Self.identity(of: $0) } ?? 0, ordering: .releasing) }
    }
    /// `driver`'s identity (0: none), readable without the mutex: ``expect(_:)`` for the backend
    /// already expected returns without the lock (each wait of a nowait server's operations
    /// asks it). Written with `driver`, under the mutex.
    private let expectedDriver = Atomic<UInt>(0)
    /// True once operations on two backends have used this waiter. Guarded by `mutex`.
    @exclusivity(unchecked) var spansBackends = false
    /// The thread leading `driver`'s kernel wait on this waiter's behalf. Guarded by `mutex`.
    @exclusivity(unchecked) var leader: pthread_t?
    /// This waiter's place among a gate's followers. Guarded by that gate's mutex.
    @exclusivity(unchecked) var followerLinks = FollowerLinks()

    init() {
        // The mutex and the condition in one allocation (two cost a malloc chunk more for every
        // mailbox).
        let condAlignment = MemoryLayout<pthread_cond_t>.alignment
        let condOffset = (MemoryLayout<pthread_mutex_t>.stride + condAlignment - 1) / condAlignment * condAlignment
        let alignment = max(MemoryLayout<pthread_mutex_t>.alignment, condAlignment)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: condOffset + MemoryLayout<pthread_cond_t>.stride,
                                                   alignment: alignment)
        mutex = raw.bindMemory(to: pthread_mutex_t.self, capacity: 1)
        cond = (raw + condOffset).bindMemory(to: pthread_cond_t.self, capacity: 1)
        pthread_mutex_init(mutex, nil)
        var attr = pthread_condattr_t()
        pthread_condattr_init(&attr)
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        pthread_cond_init(cond, &attr)
        pthread_condattr_destroy(&attr)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        UnsafeMutableRawPointer(mutex).deallocate()
    }

    func wakeForTurn() {
        pthread_mutex_lock(mutex)
        pthread_cond_broadcast(cond)
        pthread_mutex_unlock(mutex)
    }

    /// Records that an operation on `driver` will deliver to this waiter. A thread already
    /// asleep here is woken, so that it can lead that backend's wait.
    func expect(_ newDriver: any PollDriver) {
        // Once set, the driver changes only to nil (a second backend: then the mirror is 0 and
        // the lock is taken): a match read without the lock is current.
        if expects(ObjectIdentifier(newDriver)) { return }
        pthread_mutex_lock(mutex)
        if let d = driver, d === newDriver {
            pthread_mutex_unlock(mutex)
            return
        }
        if driver == nil && !spansBackends {
            driver = newDriver
        } else {
            driver = nil
            spansBackends = true
            _ = newDriver.gate.demandBackground(0)
        }
        let wake = sleepers > 0
        pthread_mutex_unlock(mutex)
        if wake { pthread_cond_broadcast(cond) }
    }

    /// Whether this waiter expects `driver` alone (read without the lock: ``expect(_:)`` for it
    /// would return at once).
    func expects(_ driver: ObjectIdentifier) -> Bool {
        expectedDriver.load(ordering: .acquiring) == UInt(bitPattern: driver)
    }

    private static func identity(of driver: any PollDriver) -> UInt {
        UInt(bitPattern: ObjectIdentifier(driver))
    }

    /// With `mutex` held, after something was delivered to this waiter: the backend to kick
    /// (once the mutex is released) because another thread waits in its kernel wait for us; nil
    /// when nobody does, or when the caller is that thread (it harvests what it delivers), so
    /// that no reference is copied on the common path.
    func driverToKick() -> (any PollDriver)? {
        guard let leading = leader, pthread_equal(leading, pthread_self()) == 0 else { return nil }
        return driver
    }

    /// Blocks the calling thread, with `mutex` held, until `ready()` is true or `deadline`
    /// passes; returns whether `ready()` became true. Leads the expected backend's kernel wait
    /// when the role is free.
    func block(until deadline: Deadline?, _ ready: () -> Bool) -> Bool {
        var background: [any PollDriver] = []
        defer {
            if !background.isEmpty {
                pthread_mutex_unlock(mutex)
                for d in background { _ = d.gate.demandBackground(-1) }
                pthread_mutex_lock(mutex)
            }
        }
        while !ready() {
            var remaining: Duration? = nil
            if let deadline {
                remaining = deadline.remaining()
                if remaining! <= .zero {
                    if let d = driver {
                        pthread_mutex_unlock(mutex)
                        d.pollNow()
                        pthread_mutex_lock(mutex)
                    }
                    return false
                }
            }
            // The gate this thread follows while it sleeps, left after the sleep even when the
            // expected backend changed meanwhile: a waiter is never left among the followers
            // of a gate it no longer expects (it could then follow another's too).
            var followed: (any PollDriver)?
            if let d = driver {
                let (lead, kick) = d.tryLead(self)
                if lead {
                    leader = pthread_self()
                    pthread_mutex_unlock(mutex)
                    d.pollAsLeader(timeout: remaining)
                    pthread_mutex_lock(mutex)
                    leader = nil
                    continue
                }
                if kick { d.kick() }
                followed = d
            } else if spansBackends && background.isEmpty {
                // Our messages come from several backends: their background threads poll.
                background = Drivers.all
                pthread_mutex_unlock(mutex)
                for d in background { _ = d.gate.demandBackground(1) }
                pthread_mutex_lock(mutex)
                continue
            }
            sleepers += 1
            if let deadline {
                var ts = deadline.timespec
                _ = pthread_cond_timedwait(cond, mutex, &ts)
            } else {
                pthread_cond_wait(cond, mutex)
            }
            sleepers -= 1
            if let d = followed {
                pthread_mutex_unlock(mutex)
                d.gate.leave(self)
                pthread_mutex_lock(mutex)
            }
        }
        return true
    }
}
