#if canImport(Glibc)
import Glibc
#endif
import CESockShims
import Synchronization

/// The select backend: readiness through epoll, with OTP's select semantics (Unix `essio`).
///
/// A socket is registered with epoll when one of its operations first has to wait (so that
/// readiness from before, such as an unconnected socket's hang-up, never reaches an operation),
/// edge-triggered, for input, urgent data, output and peer hang-up, and never modified. The
/// thread that waits in `epoll_wait` sends the select message to the operation waiting on each
/// ready socket; its caller then calls again. The epoll data carries the socket's key in the
/// backend's socket table (its place and the place's generation), not its descriptor, so events
/// for a closed socket whose number or place was reused are dropped; the key finds the socket
/// with one array access (a dictionary by socket id cost a hash and ~300 instructions per event).
// @unchecked Sendable: the socket table is locked, counters are atomics, `eventBuffer` is used
// only by the gate's current owner; the rest is set in init and then only read.
public final class SelectBackend: IOBackendDriver, PollDriver, @unchecked Sendable {
    public let name = "select"
    public let model = IOModel.select

    /// The epoll instance, shared with the rules (``SelectRules``), which register sockets.
    private let epoll: EpollInstance
    /// The rules every socket's state holds (one object for all of them).
    private let selectRules: SelectRules
    private let wakeup: WakeupDescriptor
    /// The open sockets on this backend, from attach to detach.
    private let table = SocketTable()
    private let events = Atomic<UInt64>(0)
    private let waits = Atomic<UInt64>(0)
    private let kicks = Atomic<UInt64>(0)
    private var thread: BackgroundThread?
    let gate: PollGate
    /// Runs tasks on this backend's own thread (see ``BackendExecutor``).
    public let executor: BackendExecutor
    /// Deadlines of async calls' timeouts on this backend.
    let timers = TimerQueue()
    private let eventBuffer = UnsafeMutablePointer<esock_epoll_event>.allocate(capacity: 1024)
    /// The sockets of the batch being delivered (used by the poll leader only, like `eventBuffer`).
    @exclusivity(unchecked) private var readyBatch: [(Socket, UInt32)] = []

    /// Starts an epoll instance and its thread. With `callersLead` false, the epoll thread
    /// always waits in epoll_wait and hands every message over (kept to measure the two
    /// threading models against each other).
    public init(callersLead: Bool = true) throws(SocketError) {
        gate = PollGate(callersLead: callersLead)
        epoll = try EpollInstance()
        selectRules = SelectRules(epoll: epoll)
        do {
            wakeup = try WakeupDescriptor()
        } catch {
            epoll.close()
            throw error
        }
        // The wake-up eventfd has epoll data 0, which no socket's key is.
        guard esock_epoll_add(epoll.descriptor, wakeup.raw, ESOCK_EPOLLIN, 0) == 0 else {
            let e = errno
            epoll.close()
            wakeup.close()
            throw .posix(e)
        }
        executor = BackendExecutor(gate: gate)
        executor.driver = self
        // The thread holds the backend until its loop ends: a running backend lives until
        // shutdown(), whoever else holds it.
        thread = try BackgroundThread(name: "esock-epoll") { [self] in
            self.runBackground()
            self.tearDown()
        }
        Drivers.add(self)
    }

    deinit {
        eventBuffer.deallocate()
    }

    /// Releases the epoll instance and the eventfd once the loop ended and no caller is in
    /// `epoll_wait` any more.
    private func tearDown() {
        gate.awaitIdle()
        epoll.close()
        wakeup.close()
    }

    var rules: any IOModelRules { selectRules }

    /// No send goes to the kernel's queue: each is tried with send(2).
    func sendsThroughKernel(for caller: Caller, bytes: Int) -> Bool { false }

    /// The caller keeps what is left to send and calls again with it.
    var operationsKeepData: Bool { false }

    func attach(_ socket: Socket) throws(SocketError) {
        try table.attach(socket, backend: name)
    }

    /// The registration goes with the descriptor's close(2).
    func detach(_ socket: Socket) {
        table.detach(socket)
    }

    /// Never called: a select-backend operation waits for readiness, not in the kernel.
    func arm(_ op: Operation) { assertionFailure("select operations are not armed") }

    /// Nothing to catch up with: a select-backend receive makes its kernel call itself.
    func catchUp(_ socket: Socket) -> Bool { false }

    /// Never called: nothing is in the kernel to cancel.
    func cancelInKernel(_ op: Operation) { assertionFailure("select operations are not in the kernel") }

    func kick() {
        kicks.wrappingAdd(1, ordering: .relaxed)
        wakeup.signal()
    }

    func jobQueued(pollerBusy: Bool) {
        if pollerBusy { kick() }
    }

    func tryLead(_ waiter: GateWaiter) -> (lead: Bool, kick: Bool) { gate.tryLead(waiter) }

    func pollAsLeader(timeout: Duration?) { leadOnce(timeout: timeout) }

    func demandBackground(_ delta: Int) -> Bool { gate.demandBackground(delta) }

    /// How many events ahead of the one being handled `pollOnce` prefetches the socket of (the
    /// whole object: handling an event takes a few hundred nanoseconds).
    private static let prefetchDistance = 4
    /// How many events ahead of the one being looked up `pollOnce` prefetches the socket's first
    /// cache line of.
    private static let lookUpPrefetchDistance = 16

    func pollOnce(timeout: Duration?) {
        let ms = timeout.map { $0.clampedMilliseconds } ?? -1
        if epoll.failure.happened { return waitWithoutEpoll(ms) }
        let n = esock_epoll_wait(epoll.descriptor, eventBuffer, 1024, ms)
        if n < 0 && errno != EINTR { return epollBroken(errno) }
        guard n > 0 else { return }
        waits.wrappingAdd(1, ordering: .relaxed)
        events.wrappingAdd(UInt64(n), ordering: .relaxed)
        // Look every socket of the batch up under one lock, then deliver outside it.
        // Into the leader's reused array (one leader at a time, as for `eventBuffer`): a batch
        // allocates nothing once it has grown; emptied after, so it keeps no socket alive.
        let buffer = eventBuffer
        var ready: [(Socket, UInt32)] = []
        swap(&ready, &readyBatch)
        defer {
            ready.removeAll(keepingCapacity: true)
            swap(&ready, &readyBatch)
        }
        table.withSockets { sockets in
            var fetched = 0
            for i in 0..<Int(n) {
                // The header of the socket of the event sixteen places ahead (what the retain
                // below touches) is fetched while these are looked up: a look-up takes a few
                // nanoseconds, a fetch from memory a hundred.
                while fetched < min(Int(n), i + Self.lookUpPrefetchDistance) {
                    sockets.prefetch(key: buffer[fetched].data, lines: 1)
                    fetched += 1
                }
                let ev = buffer[i]
                if ev.data != 0, let s = sockets[ev.data] { ready.append((s, ev.events)) }
            }
        }
        for i in 0..<Int(n) where buffer[i].data == 0 { wakeup.drain() }
        for i in ready.indices {
            if i + Self.prefetchDistance < ready.count {
                esock_prefetch_lines(Unmanaged.passUnretained(ready[i + Self.prefetchDistance].0).toOpaque(),
                                     Socket.cacheLines)
            }
            ready[i].0.ready(Self.readiness(ready[i].1))
        }
    }

    /// `epoll_wait` failed with `error` (not EINTR): the descriptor no longer names the epoll
    /// instance (code elsewhere closed or replaced it). The backend stops taking sockets, every
    /// operation waiting for readiness is told to call again (each finds its socket as it is;
    /// one that would still wait fails with ``EpollInstance/brokenResult``, since nothing would ever report
    /// readiness), and the thread that polls waits on the eventfd with poll(2) from now on.
    /// `info()` says why.
    private func epollBroken(_ error: Int32) {
        let error = SocketError.Errno(rawValue: error)
        guard epoll.failure.record(error) else { return }
        table.refuse("\(name) (its epoll instance failed: \(error.name))")
        let waiting = table.withSockets { $0.all }
        let everything = Readiness(readable: true, acceptable: true, writable: true)
        for socket in waiting { socket.ready(everything) }
    }

    /// The polling thread's wait once the epoll instance failed: the eventfd alone, with poll(2),
    /// so that kicks, jobs and timers still work.
    private func waitWithoutEpoll(_ ms: Int32) {
        var wake = pollfd(fd: wakeup.raw, events: Int16(POLLIN), revents: 0)
        if Glibc.poll(&wake, 1, ms) > 0 { wakeup.drain() }
    }

    /// What an epoll event mask means for each kind of operation.
    static func readiness(_ mask: UInt32) -> Readiness {
        let failed = mask & (ESOCK_EPOLLERR | ESOCK_EPOLLHUP) != 0
        return Readiness(readable: failed || mask & (ESOCK_EPOLLIN | ESOCK_EPOLLRDHUP | ESOCK_EPOLLPRI) != 0,
                         acceptable: mask & (ESOCK_EPOLLIN | ESOCK_EPOLLERR) != 0,
                         writable: failed || mask & ESOCK_EPOLLOUT != 0,
                         urgent: mask & ESOCK_EPOLLPRI != 0,
                         hangup: failed || mask & ESOCK_EPOLLRDHUP != 0)
    }

    /// Runs `body` on the backend's own thread (see ``IOBackend/run(_:)``).
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) throws -> T {
        try runOnBackgroundThread(body)
    }

    public func info() -> BackendInfo {
        var state = table.isStopped ? "stopped" : "running"
        if let error = epoll.failure.error { state = "broken: epoll_wait failed: \(error.name)" }
        return BackendInfo(name: name, model: model, threads: 1,
                    counters: ["epoll_waits": waits.load(ordering: .relaxed),
                               "events": events.load(ordering: .relaxed),
                               "kicks": kicks.load(ordering: .relaxed),
                               "registrations": epoll.registrations.load(ordering: .relaxed),
                               "sockets": UInt64(table.count)],
                    settings: ["mechanism": "epoll, edge-triggered, registered when an operation first waits",
                               "threading": gate.callersLead ? "waiting callers lead epoll_wait; background thread for async waiters" :
                                   "epoll thread only",
                               "state": state])
    }

    /// Stops the backend: refuses new sockets, closes those still open, then ends the epoll
    /// thread, which releases the epoll instance. Called from a task or job on the backend's own
    /// thread, it returns at once and the thread ends when that job does.
    public func shutdown() {
        guard table.stop(self) else { return }
        gate.stop()
        kick()
        if gate.isBackgroundThread { return }
        thread?.join()
    }
}

extension Duration {
    /// The duration in whole milliseconds, rounded up, for `epoll_wait`: at most `Int32.max`
    /// (about 24 days; a longer wait is that long, then looked at again), never negative.
    var clampedMilliseconds: Int32 {
        let (s, a) = components
        if s < 0 { return 0 }
        if s >= Int64(Int32.max / 1000) { return Int32.max }
        let ms = s * 1000 + (a + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(min(ms, Int64(Int32.max)))
    }
}
