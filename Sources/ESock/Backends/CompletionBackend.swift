#if canImport(Glibc)
import Glibc
#endif
import CESockShims
import CLiburing
import Synchronization

/// The completion backend: operations run in the kernel through io_uring, with OTP's completion
/// semantics (Windows `esaio`, here on Linux).
///
/// Every operation is first tried directly; only one that would block is submitted as an SQE
/// (`IORING_OP_RECV`, `SEND`, `ACCEPT`, `CONNECT`; sendfile waits with `POLL_ADD` and continues
/// with sendfile(2)). A recv on a stream whose last receive drained it goes to the ring without
/// the direct try, which would only fail. Callers prepare SQEs under a lock; when no other thread
/// may be waiting in the kernel, an SQE waits for the next kernel wait, which submits every SQE
/// prepared since in the same `io_uring_enter` (see docs/architecture.md). The thread waiting for a
/// result, or the harvester thread, reaps the CQEs and turns each into the operation's completion
/// message. An operation is retained by its SQE (its
/// address is the user data) until its CQE is harvested, so its buffers outlive the kernel's use
/// of them. A recv of "whatever is available" uses a provided-buffer ring, so a socket that waits
/// holds no buffer of its own.
// @unchecked Sendable: the ring's SQ side is used under `submitLock`, its CQ side only by the
// gate's current owner; counters are atomics; the rest is set in init and then only read.
public final class CompletionBackend: IOBackendDriver, PollDriver, @unchecked Sendable {
    public let name = "completion"
    public let model = IOModel.completion

    /// Sizes the backend starts with.
    public struct Configuration: Sendable, Hashable {
        /// Submission queue entries.
        public var entries: UInt32 = 1024
        /// Completion queue entries (IORING_SETUP_CQSIZE).
        public var completionEntries: UInt32 = 16384
        /// Provided buffers for recv of unknown length (a power of two; 0 disables the ring).
        public var providedBuffers: UInt32 = 1024
        /// The size of each provided buffer.
        public var providedBufferSize: UInt32 = 16384
        /// True (the default): a thread waiting for a result reaps CQEs itself when no other
        /// thread does (see docs/architecture.md). False: only the harvester thread reaps
        /// (measurement only).
        public var callersLead = true

        public init() {}
    }

    /// The configuration the backend runs with.
    public let configuration: Configuration
    private let ring: UnsafeMutablePointer<io_uring>
    /// The ring, for its SQ side: only reached with this lock held.
    private let submitLock: Locked<UnsafeMutablePointer<io_uring>>
    private let bufferGroup: UInt16 = 1
    private var bufferRing: UnsafeMutablePointer<io_uring_buf_ring>?
    private var bufferBase: UnsafeMutableRawPointer?
    private var thread: BackgroundThread?
    private let stopped = Locked<Bool>(false)
    private let submissions = Atomic<UInt64>(0)
    private let completions = Atomic<UInt64>(0)
    private let harvests = Atomic<UInt64>(0)
    private let busyRetries = Atomic<UInt64>(0)
    private let deferredSubmissions = Atomic<UInt64>(0)
    private let enters = Atomic<UInt64>(0)
    /// The open sockets on this backend, from attach to detach (strong: see ``Registry``).
    private let sockets = Locked<[UInt64: Socket]>([:])


    private static let stopTag: UInt64 = 1
    private static let kickTag: UInt64 = 2
    let gate: PollGate
    /// Runs tasks on this backend's own thread (see ``BackendExecutor``).
    public let executor: BackendExecutor
    private let kicks = Atomic<UInt64>(0)
    private let harvestCQEs: UnsafeMutablePointer<UnsafeMutablePointer<io_uring_cqe>?>

    /// Sets up an io_uring instance and its harvester thread. Throws the kernel's error when
    /// io_uring cannot start (EPERM when `kernel.io_uring_disabled` or a seccomp profile forbids
    /// it, ENOSYS on kernels without it, ENOMEM when locked memory is short).
    public init(configuration: Configuration = Configuration()) throws(SocketError) {
        self.configuration = configuration
        gate = PollGate(callersLead: configuration.callersLead)
        ring = .allocate(capacity: 1)
        ring.initialize(to: io_uring())
        submitLock = Locked(ring)
        var params = io_uring_params()
        params.flags = UInt32(IORING_SETUP_CQSIZE)
        params.cq_entries = configuration.completionEntries
        let rc = io_uring_queue_init_params(configuration.entries, ring, &params)
        guard rc == 0 else {
            ring.deallocate()
            throw .posix(-rc)
        }
        // Allocated only now: a failed init runs no deinit (found by AddressSanitizer's leak check).
        harvestCQEs = .allocate(capacity: 256)
        if configuration.providedBuffers > 0 {
            let count = Int(configuration.providedBuffers), size = Int(configuration.providedBufferSize)
            let base = UnsafeMutableRawPointer.allocate(byteCount: count * size, alignment: 4096)
            if let br = esock_buf_ring_setup(ring, UInt32(count), Int32(bufferGroup),
                                             base.assumingMemoryBound(to: UInt8.self), UInt32(size)) {
                bufferRing = br
                bufferBase = base
            } else {
                base.deallocate()
            }
        }
        executor = BackendExecutor(gate: gate)
        executor.driver = self
        thread = try BackgroundThread(name: "esock-harvest") { [unowned self] in self.runBackground(executor: self.executor) }
        Drivers.add(self)
    }

    deinit {
        shutdown()
        ring.deallocate()
        harvestCQEs.deallocate()
    }

    func attach(_ socket: Socket) throws(SocketError) {
        sockets.withLock { $0[socket.id] = socket }
    }

    func detach(_ socket: Socket) {
        _ = sockets.withLock { $0.removeValue(forKey: socket.id) }
    }

    // MARK: Submission

    /// Gets an SQE, lets `prepare` fill it and publishes it to the kernel's SQ ring. It is then
    /// submitted by the next `io_uring_enter`: at once when another thread may be waiting in the
    /// kernel (or `urgent`), else by the next kernel wait (``pollOnce(timeout:)``), which takes
    /// every SQE published since in one call. Once published, an SQE is always submitted, and
    /// its CQE always comes; a failed `io_uring_enter` leaves it for the next one.
    private func submit(urgent: Bool = false, _ prepare: (UnsafeMutablePointer<io_uring_sqe>) -> Void) {
        var busy = false
        while true {
            let done: Bool = submitLock.withLock { ring in
                var sqe = io_uring_get_sqe(ring)
                if sqe == nil {
                    // The SQ ring is full of SQEs not submitted yet: hand them over now.
                    enter(submitting: esock_sq_publish(ring), waitingFor: 0)
                    sqe = io_uring_get_sqe(ring)
                }
                guard let sqe else { return false }
                prepare(sqe)
                // Release: whoever reaps this SQE's CQE loads the count with acquire first, so what
                // this thread wrote before submitting happens-before the reaping, in a way
                // ThreadSanitizer can see (the kernel's own ordering through the rings it cannot).
                submissions.wrappingAdd(1, ordering: .releasing)
                let ready = esock_sq_publish(ring)
                if !urgent && gate.mayDefer {
                    deferredSubmissions.wrappingAdd(1, ordering: .relaxed)
                } else {
                    enter(submitting: ready, waitingFor: 0)
                }
                return true
            }
            if done { return }
            // The kernel took none of the full SQ ring (its completion queue overflowed):
            // let the thread reaping CQEs make room.
            if !busy { busyRetries.wrappingAdd(1, ordering: .relaxed) }
            busy = true
            sched_yield()
        }
    }

    /// io_uring_enter(2): submits `count` published SQEs and waits for `wait` CQEs. An error
    /// leaves the SQEs published; the next call submits them.
    @discardableResult
    private func enter(submitting count: UInt32, waitingFor wait: UInt32) -> Int32 {
        if count == 0 && wait == 0 { return 0 }
        enters.wrappingAdd(1, ordering: .relaxed)
        return esock_uring_enter(ring, count, wait)
    }


    func arm(_ op: Operation, _ state: inout SocketState) {
        let fd = op.socket.fd
        let userData = UInt64(UInt(bitPattern: Unmanaged.passRetained(op).toOpaque()))
        let bufferSize = configuration.providedBufferSize
        let useProvided = op.kind == .recv && op.message == nil && op.length == 0 && bufferRing != nil
        // A receive of length 0 takes at most a buffer, and at most `{otp, rcvbuf}`.
        let anyLength = min(Int(bufferSize), state.recvBufferSize)
        if op.kind == .recv && op.message == nil {
            op.armedLength = op.length == 0 ? anyLength : op.length - op.received.count
        }
        if op.kind == .recv && op.message == nil && !useProvided {
            // The kernel writes into the operation's own buffer, for exactly what is missing.
            let want = op.length > 0 ? op.length - op.received.count : anyLength
            if op.buffer == nil || op.buffer!.count < want {
                op.buffer?.deallocate()
                op.buffer = .allocate(byteCount: want, alignment: 16)
            }
        }
        // Only a receive or an accept may wait for the next kernel wait: nothing moves until its
        // caller looks for the result anyway. A send, connect or sendfile goes in at once, so
        // that it proceeds whether or not anyone waits for its message.
        submit(urgent: op.kind != .recv && op.kind != .accept) { sqe in
            switch op.kind {
            case .recv where op.message != nil:
                op.message!.prepareReceive()
                io_uring_prep_recvmsg(sqe, fd, op.message!.header, UInt32(bitPattern: op.flags))
            case .send where op.message != nil:
                op.message!.prepareSend(iovMax: Syscall.iovMax)
                io_uring_prep_sendmsg(sqe, fd, op.message!.header, UInt32(bitPattern: op.flags | ESOCK_MSG_NOSIGNAL))
            case .recv:
                if useProvided {
                    io_uring_prep_recv(sqe, fd, nil, anyLength, op.flags)
                    esock_sqe_set_buf_group(sqe, bufferGroup)
                } else {
                    let want = op.length > 0 ? op.length - op.received.count : anyLength
                    let waitAll = op.length > 0 && op.socket.type == .stream ? ESOCK_MSG_WAITALL : 0
                    io_uring_prep_recv(sqe, fd, op.buffer!.baseAddress, want, op.flags | waitAll)
                }
            case .send:
                let chunk = op.unsent
                io_uring_prep_send(sqe, fd, chunk.baseAddress, chunk.count, op.flags | ESOCK_MSG_NOSIGNAL)
            case .accept:
                io_uring_prep_accept(sqe, fd, nil, nil, Int32(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue))
            case .connect:
                op.address!.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    io_uring_prep_connect(sqe, fd, $0, op.addressLength)
                }
            case .sendfile:
                io_uring_prep_poll_add(sqe, fd, ESOCK_POLLOUT)
            }
            io_uring_sqe_set_data64(sqe, userData)
        }
        state.inflight += 1
    }

    func cancelInKernel(_ op: Operation) {
        let target = UInt64(UInt(bitPattern: Unmanaged.passUnretained(op).toOpaque()))
        submit(urgent: true) { sqe in
            io_uring_prep_cancel64(sqe, target, 0)
            io_uring_sqe_set_data64(sqe, 0)
        }
    }

    // MARK: Harvesting


    func kick() {
        kicks.wrappingAdd(1, ordering: .relaxed)
        submit(urgent: true) { sqe in
            io_uring_prep_nop(sqe)
            io_uring_sqe_set_data64(sqe, Self.kickTag)
        }
    }

    /// Waits for at least one CQE (or the timeout), then harvests every CQE ready and turns each
    /// into its operation's result. Only the gate's owner calls it, so the completion queue has
    /// one reader at a time.
    func pollOnce(timeout: Duration?) {
        // The SQEs deferred since the last kernel wait go in with this one.
        let ready = submitLock.withLock { ring in esock_sq_publish(ring) }
        if io_uring_cq_ready(ring) > 0 {
            enter(submitting: ready, waitingFor: 0)
        } else if let timeout {
            enter(submitting: ready, waitingFor: 0)
            var first: UnsafeMutablePointer<io_uring_cqe>?
            let (s, a) = max(timeout, .zero).components
            var ts = __kernel_timespec(tv_sec: s, tv_nsec: a / 1_000_000_000)
            guard io_uring_wait_cqe_timeout(ring, &first, &ts) == 0 else { return }
        } else {
            enter(submitting: ready, waitingFor: 1)
        }
        while true {
            let n = Int(io_uring_peek_batch_cqe(ring, harvestCQEs, 256))
            if n == 0 { return }
            _ = submissions.load(ordering: .acquiring) // pairs with the release in submit()
            var batch: [(userData: UInt64, result: Int32, flags: UInt32)] = []
            batch.reserveCapacity(n)
            for i in 0..<n {
                let c = harvestCQEs[i]!.pointee
                batch.append((c.user_data, c.res, c.flags))
            }
            // Make room in the completion queue before handling, which may submit again.
            io_uring_cq_advance(ring, UInt32(n))
            harvests.wrappingAdd(1, ordering: .relaxed)
            completions.wrappingAdd(UInt64(n), ordering: .relaxed)
            for h in batch where h.userData > Self.kickTag {
                let op = Unmanaged<Operation>.fromOpaque(UnsafeRawPointer(bitPattern: UInt(h.userData))!).takeRetainedValue()
                var bytes: [UInt8]? = nil
                if h.flags & ESOCK_CQE_F_BUFFER != 0, let base = bufferBase {
                    let bid = UInt16(truncatingIfNeeded: h.flags >> ESOCK_CQE_BUFFER_SHIFT)
                    let size = Int(configuration.providedBufferSize)
                    let start = base + Int(bid) * size
                    bytes = h.result > 0 ? Array(UnsafeRawBufferPointer(start: start, count: Int(h.result))) : []
                    esock_buf_ring_recycle(bufferRing, configuration.providedBuffers,
                                           start.assumingMemoryBound(to: UInt8.self), UInt32(size), bid)
                }
                op.socket.kernelCompleted(op, result: h.result, bytes: bytes)
            }
            if n < 256 { return }
        }
    }

    // MARK: Info and shutdown

    public func info() -> BackendInfo {
        BackendInfo(name: name, model: model, threads: 1,
                    counters: ["submissions": submissions.load(ordering: .relaxed),
                               "completions": completions.load(ordering: .relaxed),
                               "harvests": harvests.load(ordering: .relaxed),
                               "busy_retries": busyRetries.load(ordering: .relaxed),
                               "deferred_submissions": deferredSubmissions.load(ordering: .relaxed),
                               "enters": enters.load(ordering: .relaxed),
                               "kicks": kicks.load(ordering: .relaxed),
                               "sockets": UInt64(sockets.withLock { $0.count })],
                    settings: ["sq_entries": "\(configuration.entries)",
                               "cq_entries": "\(configuration.completionEntries)",
                               "provided_buffers": bufferRing == nil ? "off" :
                                   "\(configuration.providedBuffers) x \(configuration.providedBufferSize)",
                               "threading": configuration.callersLead ?
                                   "SQEs deferred to the next kernel wait; waiting callers reap CQEs; harvester for async waiters" :
                                   "SQEs deferred to the next kernel wait; harvester thread reaps every CQE"])
    }

    public func shutdown() {
        let first = stopped.withLock { s -> Bool in
            defer { s = true }
            return !s
        }
        guard first else { return }
        Drivers.remove(self)
        for s in sockets.withLock({ Array($0.values) }) { try? s.close() }
        gate.stop()
        kick()
        thread?.join()
        if let br = bufferRing {
            esock_buf_ring_free(ring, br, configuration.providedBuffers, Int32(bufferGroup))
            bufferBase?.deallocate()
        }
        io_uring_queue_exit(ring)
    }
}
