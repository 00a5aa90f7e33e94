#if canImport(Glibc)
import Glibc
#endif
import CESockShims
import Synchronization

/// The select backend's epoll instance: its descriptor, the sockets registered with it, and
/// whether it failed. Shared by the backend, which waits on it, and the backend's rules
/// (``SelectRules``), which register a socket when one of its operations first waits: so the
/// rules hold no reference to the backend, and one rules object, held by every socket's state,
/// serves the backend's sockets (a class-bound `any IOModelRules` takes two words of each
/// socket's state, not five).
// @unchecked Sendable: the descriptor is set in init and then only read; the counter and the
// failure are atomics.
final class EpollInstance: @unchecked Sendable {
    /// The epoll descriptor (epoll_create1(EPOLL_CLOEXEC)); closed by ``close()``.
    let descriptor: Int32
    /// Sockets registered (`EPOLL_CTL_ADD`) since the instance was made (`info()`).
    let registrations = Atomic<UInt64>(0)
    /// Whether `epoll_wait` failed under the backend (see ``SelectBackend``'s `epollBroken`).
    let failure = KernelObjectFailure()

    /// What a wait for readiness fails with once the epoll instance failed: EBADFD, "file
    /// descriptor in bad state" (the epoll instance's), as the completion backend's operations
    /// do when its ring fails.
    static let brokenResult = EBADFD

    init() throws(SocketError) {
        descriptor = esock_epoll_create()
        guard descriptor >= 0 else { throw .posix(errno) }
    }

    /// Registers the socket whose state is `st` when an operation first waits on it,
    /// edge-triggered for input, urgent data, output and peer hang-up, never modified
    /// afterwards (epoll_ctl(EPOLL_CTL_ADD)). Called inside the socket's lock (so the
    /// descriptor is open); epoll reports at once what is ready then. Throws
    /// ``brokenResult`` once the instance failed: waiting would be for ever.
    func watch(_ st: inout SocketState) throws(SocketError) {
        if failure.happened { throw .posix(Self.brokenResult) }
        guard !st.watched else { return }
        let mask = ESOCK_EPOLLIN | ESOCK_EPOLLPRI | ESOCK_EPOLLOUT | ESOCK_EPOLLRDHUP | ESOCK_EPOLLET
        guard esock_epoll_add(descriptor, st.fd, mask, st.eventKey) == 0 else { throw .posix(errno) }
        st.watched = true
        registrations.wrappingAdd(1, ordering: .relaxed)
    }

    /// Closes the descriptor, once nothing waits on it any more.
    func close() { Syscall.close(descriptor) }
}
