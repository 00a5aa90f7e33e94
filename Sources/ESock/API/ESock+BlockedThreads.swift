#if canImport(Glibc)
import Glibc
#endif
import CESockShims
import Synchronization

extension ESock {
    /// The most slots ``sizeFutexHash(forBlockedThreads:)`` asks for (64 MiB of the kernel's
    /// 64-byte buckets).
    public static let futexHashSlotsLimit = 1 << 20

    /// Sizes the process's futex hash for `threads` threads blocked at once (a thread per
    /// connection in blocking calls), and returns its slots now; nil where the process has no
    /// private futex hash: before Linux 6.16 every process shares the kernel's global one, and a
    /// process that chose the global one (0 slots) cannot leave it.
    ///
    /// Not in Erlang's `socket`: a BEAM process is not an OS thread. C: `prctl(PR_FUTEX_HASH,
    /// PR_FUTEX_HASH_SET_SLOTS, slots, 0)`, after `PR_FUTEX_HASH_GET_SLOTS`.
    ///
    /// Every thread asleep in a blocking call (``Socket/recv(length:flags:timeout:)-66mm5`` and the
    /// others) waits on a futex of its own, and every wake-up of one walks the waiters that hash
    /// to its slot. Since Linux 6.16 a process's futexes hash into a table of its own, sized when
    /// its second thread starts from the smaller of its threads and its CPUs: 16 slots on two
    /// CPUs. With 10,000 threads blocked that is some 600 waiters per slot, and the wake-ups'
    /// walks took 62% of a blocking echo server's CPU (docs/architecture.md, "Twenty-second
    /// session"); a server that holds many blocked threads calls this as it grows.
    ///
    /// The table only grows: `threads` rounded up to a power of two (at least 16, at most
    /// ``futexHashSlotsLimit``), unless it already has that many slots. A process that has no
    /// table yet (one thread so far) gets one of that size.
    ///
    /// - Throws: `invalid` when `threads` is not positive; the kernel's error (`ENOMEM`) when it
    ///   cannot make the table, which is then left as it was.
    public static func sizeFutexHash(forBlockedThreads threads: Int) throws(SocketError) -> Int? {
        guard threads > 0 else { throw .invalid("sizeFutexHash: threads must be positive, not \(threads)") }
        let wanted = futexHashSlots(for: threads)
        // The kernel's table is the state: its size is read and set under one lock, so that a
        // smaller request made at the same time cannot undo a larger one. Two system calls.
        let outcome: Result<Int?, SocketError> = futexHashSizing.withLock { _ in
            let current = esock_futex_hash_slots()
            if current < 0 {
                let error = errno
                return error == EINVAL ? .success(nil) : .failure(.posix(error))
            }
            if Int(current) >= wanted { return .success(Int(current)) }
            if esock_set_futex_hash_slots(UInt32(wanted)) != 0 {
                // With 0 slots now, EINVAL: a kernel that reads the size but keeps no private
                // table; EBUSY: the process chose the global table, which it cannot leave.
                let error = errno
                return current == 0 && (error == EINVAL || error == EBUSY) ? .success(nil) : .failure(.posix(error))
            }
            return .success(wanted)
        }
        return try outcome.get()
    }

    /// The slots asked for `threads` blocked threads: the power of two at or above it, at least
    /// 16, at most ``futexHashSlotsLimit`` (any `Int`: no arithmetic that can trap).
    static func futexHashSlots(for threads: Int) -> Int {
        var slots = 16
        while slots < threads && slots < futexHashSlotsLimit { slots <<= 1 }
        return slots
    }

    /// Serialises ``sizeFutexHash(forBlockedThreads:)``'s read and write of the kernel's size.
    private static let futexHashSizing = Mutex<Void>(())
}
