#if canImport(Glibc)
import Glibc
#endif
import CESockShims

/// An eventfd that wakes a backend's thread out of its kernel wait. Writing and closing are
/// kept apart by a lock, so a wake-up that comes after the backend released its kernel objects
/// writes nothing (rather than to a closed, or reused, descriptor number).
final class WakeupDescriptor: Sendable {
    private let fd: Locked<Int32>
    /// The descriptor, for the backend's own kernel wait (epoll registration, the ring's read).
    let raw: Int32

    /// A new eventfd (non-blocking, close-on-exec).
    init() throws(SocketError) {
        let e = esock_eventfd(0)
        guard e >= 0 else { throw .posix(errno) }
        raw = e
        fd = Locked(e)
    }

    /// Adds one to the counter: the wait returns. Nothing once closed.
    func signal() {
        fd.withLock { fd in
            guard fd >= 0 else { return }
            var one: UInt64 = 1
            _ = write(fd, &one, 8)
        }
    }

    /// Resets the counter after a wake-up (select backend; the ring reads it itself).
    func drain() {
        var value: UInt64 = 0
        _ = read(raw, &value, 8)
    }

    /// Closes the descriptor; later signals do nothing.
    func close() {
        fd.withLock { fd in
            guard fd >= 0 else { return }
            Syscall.close(fd)
            fd = -1
        }
    }
}
