import Synchronization

/// Whether a backend's kernel object (the select backend's epoll instance, the completion
/// backend's ring) failed under it, and with which errno: an `epoll_wait` or `io_uring_enter`
/// that failed with an errno the backend does not expect, because code elsewhere closed or
/// replaced its descriptor. Set once, by the thread that saw the failure; read from any thread
/// (the backends' paths that must stay cheap, and `info()`).
struct KernelObjectFailure: ~Copyable {
    /// The errno; 0 while the kernel object works.
    private let errno = Atomic<Int32>(0)

    /// Records the failure; true for the first one only (later ones change nothing).
    func record(_ error: SocketError.Errno) -> Bool {
        errno.compareExchange(expected: 0, desired: error.rawValue, ordering: .acquiringAndReleasing).exchanged
    }

    /// Whether the kernel object failed.
    var happened: Bool { errno.load(ordering: .acquiring) != 0 }

    /// The errno of the failure, nil while the kernel object works.
    var error: SocketError.Errno? {
        let e = errno.load(ordering: .acquiring)
        return e == 0 ? nil : SocketError.Errno(rawValue: e)
    }
}
