#if canImport(Glibc)
import Glibc
#endif
import CESockShims
import Synchronization

/// The select backend: readiness through epoll, with OTP's select semantics (Unix `essio`).
///
/// Each socket is registered once, edge-triggered, for input, output and peer hang-up, and never
/// modified. One thread waits in `epoll_wait`; for each ready socket it sends the select message
/// to the operation waiting there, which then calls again. The epoll data carries the socket's
/// unique id, not its descriptor, so events for a closed socket whose number was reused are
/// dropped.
public final class SelectBackend: IOBackendDriver, @unchecked Sendable {
    public let name = "select"
    public let model = IOModel.select

    private let epfd: Int32
    private let wakeFD: Int32
    private let sockets = Mutex<[UInt64: WeakSocket]>([:])
    private let stopping = Atomic<Bool>(false)
    private let events = Atomic<UInt64>(0)
    private let waits = Atomic<UInt64>(0)
    private let stopped = Mutex<Bool>(false)
    private var thread: BackgroundThread?

    private struct WeakSocket {
        weak var socket: Socket?
    }

    /// Starts an epoll instance and its thread.
    public init() throws(SocketError) {
        epfd = esock_epoll_create()
        guard epfd >= 0 else { throw .posix(errno) }
        wakeFD = esock_eventfd(0)
        guard wakeFD >= 0 else {
            let e = errno
            Syscall.close(epfd)
            throw .posix(e)
        }
        // The wake-up eventfd has epoll data 0, which no socket id uses.
        guard esock_epoll_add(epfd, wakeFD, ESOCK_EPOLLIN, 0) == 0 else {
            let e = errno
            Syscall.close(epfd)
            Syscall.close(wakeFD)
            throw .posix(e)
        }
        let (ep, wake) = (epfd, wakeFD)
        thread = try BackgroundThread(name: "esock-epoll") { [unowned self] in self.run(ep, wake) }
    }

    deinit {
        shutdown()
    }

    func attach(_ socket: Socket) throws(SocketError) {
        sockets.withLock { $0[socket.id] = WeakSocket(socket: socket) }
        let mask = ESOCK_EPOLLIN | ESOCK_EPOLLOUT | ESOCK_EPOLLRDHUP | ESOCK_EPOLLET
        if esock_epoll_add(epfd, socket.fd, mask, socket.id) != 0 {
            let e = errno
            _ = sockets.withLock { $0.removeValue(forKey: socket.id) }
            throw .posix(e)
        }
    }

    func detach(_ socket: Socket) {
        _ = esock_epoll_del(epfd, socket.fd)
        _ = sockets.withLock { $0.removeValue(forKey: socket.id) }
    }

    func arm(_ op: Operation, _ state: inout SocketState) throws(SocketError) {
        throw SocketError(.notSupported)
    }

    func cancelInKernel(_ op: Operation) {}

    private func run(_ epfd: Int32, _ wakeFD: Int32) {
        let capacity = 1024
        let buffer = UnsafeMutablePointer<esock_epoll_event>.allocate(capacity: capacity)
        defer { buffer.deallocate() }
        while !stopping.load(ordering: .acquiring) {
            let n = esock_epoll_wait(epfd, buffer, Int32(capacity), -1)
            if n < 0 {
                if errno == EINTR { continue }
                break
            }
            waits.wrappingAdd(1, ordering: .relaxed)
            events.wrappingAdd(UInt64(n), ordering: .relaxed)
            // Look every socket of the batch up under one lock, then deliver outside it.
            let ready: [(Socket, UInt32)] = sockets.withLock { table in
                (0..<Int(n)).compactMap { i in
                    let ev = buffer[i]
                    guard ev.data != 0, let s = table[ev.data]?.socket else { return nil }
                    return (s, ev.events)
                }
            }
            for (socket, mask) in ready {
                let failed = mask & (ESOCK_EPOLLERR | ESOCK_EPOLLHUP) != 0
                socket.readiness(readable: failed || mask & (ESOCK_EPOLLIN | ESOCK_EPOLLRDHUP) != 0,
                                 writable: failed || mask & ESOCK_EPOLLOUT != 0)
            }
        }
    }

    public func info() -> BackendInfo {
        BackendInfo(name: name, model: model, threads: 1,
                    counters: ["epoll_waits": waits.load(ordering: .relaxed),
                               "events": events.load(ordering: .relaxed),
                               "sockets": UInt64(sockets.withLock { $0.count })],
                    settings: ["mechanism": "epoll, edge-triggered, registered once"])
    }

    public func shutdown() {
        let first = stopped.withLock { s -> Bool in
            defer { s = true }
            return !s
        }
        guard first else { return }
        for s in sockets.withLock({ $0.values.compactMap(\.socket) }) { try? s.close() }
        stopping.store(true, ordering: .releasing)
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
        thread?.join()
        Syscall.close(epfd)
        Syscall.close(wakeFD)
    }
}
