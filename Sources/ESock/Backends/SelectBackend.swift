#if canImport(Glibc)
import Glibc
#endif
import CESockShims
import Synchronization

/// The select backend: readiness through epoll, with OTP's select semantics (Unix `essio`).
///
/// Each socket is registered once, edge-triggered, for input, urgent data, output and peer
/// hang-up, and never modified. One thread waits in `epoll_wait`; for each ready socket it sends the select message
/// to the operation waiting there, which then calls again. The epoll data carries the socket's
/// unique id, not its descriptor, so events for a closed socket whose number was reused are
/// dropped.
// @unchecked Sendable: the socket table is a Mutex, counters are atomics, `eventBuffer` is used
// only by the gate's current owner; the rest is set in init and then only read.
public final class SelectBackend: IOBackendDriver, PollDriver, @unchecked Sendable {
    public let name = "select"
    public let model = IOModel.select

    private let epfd: Int32
    private let wakeFD: Int32
    /// The open sockets on this backend, from attach to detach (strong: see ``Registry``).
    private let sockets = Locked<[UInt64: Socket]>([:])
    private let stopping = Atomic<Bool>(false)
    private let events = Atomic<UInt64>(0)
    private let waits = Atomic<UInt64>(0)
    private let stopped = Locked<Bool>(false)
    private var thread: BackgroundThread?
    let gate: PollGate
    /// Runs tasks on this backend's own thread (see ``BackendExecutor``).
    public let executor: BackendExecutor
    private let eventBuffer = UnsafeMutablePointer<esock_epoll_event>.allocate(capacity: 1024)
    private let kicks = Atomic<UInt64>(0)


    /// Starts an epoll instance and its thread. With `callersLead` false, the epoll thread
    /// always waits in epoll_wait and hands every message over (measurement only).
    public init(callersLead: Bool = true) throws(SocketError) {
        gate = PollGate(callersLead: callersLead)
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
        executor = BackendExecutor(gate: gate)
        executor.driver = self
        thread = try BackgroundThread(name: "esock-epoll") { [unowned self] in self.runBackground(executor: self.executor) }
        Drivers.add(self)
    }

    deinit {
        shutdown()
        eventBuffer.deallocate()
    }

    func attach(_ socket: Socket) throws(SocketError) {
        sockets.withLock { $0[socket.id] = socket }
        let mask = ESOCK_EPOLLIN | ESOCK_EPOLLPRI | ESOCK_EPOLLOUT | ESOCK_EPOLLRDHUP | ESOCK_EPOLLET
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

    /// Never called: a select-backend operation waits for readiness, not in the kernel.
    func arm(_ op: Operation, _ state: inout SocketState) {}

    func cancelInKernel(_ op: Operation) {}


    func kick() {
        kicks.wrappingAdd(1, ordering: .relaxed)
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    func pollOnce(timeout: Duration?) {
        var ms: Int32 = -1
        if let timeout {
            let (s, a) = timeout.components
            ms = Int32(clamping: s * 1000 + (a + 999_999_999_999_999) / 1_000_000_000_000_000)
        }
        let n = esock_epoll_wait(epfd, eventBuffer, 1024, ms)
        guard n > 0 else { return }
        waits.wrappingAdd(1, ordering: .relaxed)
        events.wrappingAdd(UInt64(n), ordering: .relaxed)
        // Look every socket of the batch up under one lock, then deliver outside it.
        let buffer = eventBuffer
        let ready: [(Socket, UInt32)] = sockets.withLock { table in
            (0..<Int(n)).compactMap { i in
                let ev = buffer[i]
                guard ev.data != 0, let s = table[ev.data] else { return nil }
                return (s, ev.events)
            }
        }
        for i in 0..<Int(n) where buffer[i].data == 0 {
            var value: UInt64 = 0
            _ = read(wakeFD, &value, 8)
        }
        for (socket, mask) in ready {
            let failed = mask & (ESOCK_EPOLLERR | ESOCK_EPOLLHUP) != 0
            socket.readiness(readable: failed || mask & (ESOCK_EPOLLIN | ESOCK_EPOLLRDHUP | ESOCK_EPOLLPRI) != 0,
                             writable: failed || mask & ESOCK_EPOLLOUT != 0,
                             urgent: mask & ESOCK_EPOLLPRI != 0,
                             hangup: failed || mask & ESOCK_EPOLLRDHUP != 0)
        }
    }

    public func info() -> BackendInfo {
        BackendInfo(name: name, model: model, threads: 1,
                    counters: ["epoll_waits": waits.load(ordering: .relaxed),
                               "events": events.load(ordering: .relaxed),
                               "kicks": kicks.load(ordering: .relaxed),
                               "sockets": UInt64(sockets.withLock { $0.count })],
                    settings: ["mechanism": "epoll, edge-triggered, registered once",
                               "threading": gate.callersLead ? "waiting callers lead epoll_wait; background thread for async waiters" :
                                   "epoll thread only"])
    }

    public func shutdown() {
        let first = stopped.withLock { s -> Bool in
            defer { s = true }
            return !s
        }
        guard first else { return }
        Drivers.remove(self)
        for s in sockets.withLock({ Array($0.values) }) { try? s.close() }
        stopping.store(true, ordering: .releasing)
        gate.stop()
        kick()
        thread?.join()
        Syscall.close(epfd)
        Syscall.close(wakeFD)
    }
}
