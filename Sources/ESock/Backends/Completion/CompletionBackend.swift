#if canImport(Glibc)
import Glibc
#endif
import CESockShims
import CLiburing
import Synchronization

/// The completion backend: operations run in the kernel through io_uring, with OTP's completion
/// semantics (Windows `esaio`, here on Linux).
///
/// Every operation is first tried directly; only one that would block is handed to the kernel
/// (`IORING_OP_RECV`, `SEND`, `RECVMSG`, `SENDMSG`, `ACCEPT`; connect and sendfile wait for
/// writability with `POLL_ADD` and continue with their system calls). One thread, the ring
/// owner (`esock-harvest`), submits every SQE and reaps every CQE, so the ring can run with
/// `IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN` (where the kernel refuses them it
/// runs without; ``info()`` says which). A call made on the owner thread (a task on
/// ``executor``, or code given to ``run(_:)``) prepares its SQE directly, and it goes to the kernel
/// with the owner's next `io_uring_enter`; a call on any other thread hands its operation over
/// through a queue and wakes the owner (an eventfd read armed in the ring) only when it sleeps.
/// An operation is held by the owner's `KernelHolds` table, in the slot its SQE's user data
/// names, until its last CQE, so its buffers outlive the kernel's use of them. A ring that
/// fails (`io_uring_enter` with an errno it does not expect: its descriptor closed or replaced
/// by code elsewhere) stops the backend taking sockets and ends every operation it held with
/// EBADFD, without ending the process. A recv of "whatever is available" uses a
/// provided-buffer ring, so a socket that waits holds no buffer of its own.
// @unchecked Sendable: the ring and the fields marked "owner" are used only on the ring owner's
// thread; the request queue is locked; counters are atomics; the rest is set in init.
public final class CompletionBackend: IOBackendDriver, PollDriver, @unchecked Sendable {
    public let name = "completion"
    public let model = IOModel.completion

    /// Sizes and setup the backend starts with.
    public struct Configuration: Sendable, Hashable {
        /// Submission queue entries.
        public var entries: UInt32 = 1024
        /// Completion queue entries (IORING_SETUP_CQSIZE).
        public var completionEntries: UInt32 = 16384
        /// Provided buffers for recv of unknown length (a power of two; 0 disables the ring).
        /// 512 by default: a buffer is held only from its CQE until its bytes are copied out, so
        /// the ring does not grow with connections; against 1,024 it measured equal at 64, 512 and
        /// 10,000 connections and on streams, and 0.2 KiB less memory per connection at 10,000
        /// (each buffer used keeps a page resident); 256 re-armed multishot receives for lack of
        /// buffers with 512 connections of 64 KiB echoes (docs/architecture.md).
        public var providedBuffers: UInt32 = 512
        /// The size of each provided buffer.
        public var providedBufferSize: UInt32 = 16384
        /// Incrementally consumed provided buffers (`IOU_PBUF_RING_INC`, Linux 6.12+) for the
        /// multishot receives: `incrementalBuffers` (a power of two; 0: never) of
        /// `incrementalBufferSize` bytes, each receive taking only the bytes it got. Small
        /// messages from many connections then share pages (the memory touched is what arrived,
        /// at most the ring's 512 KiB, where whole buffers keep a page per buffer used: 2 MiB
        /// for 512), and a receive may take up to 64 KiB at once. Against 512 whole buffers of
        /// 16 KiB: 0.16 KiB less per connection at 10,000, equal throughput there, 1.04x on echo
        /// at 512 connections, 1.04-1.75x on streams received (docs/architecture.md). Where the
        /// kernel refuses them (or with ``multishot`` off) the ring is `providedBuffers` whole
        /// buffers, and `info()` says why (`provided_buffers_fallback`).
        public var incrementalBuffers: UInt32 = 8
        /// The size of each incrementally consumed buffer.
        public var incrementalBufferSize: UInt32 = 65536
        /// True (the default): ask for `IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN`
        /// (the kernel's completion work then runs in batches, when the owner asks for events),
        /// falling back to neither where the kernel refuses them. False: neither (to measure
        /// the difference, and to test the fallback).
        public var deferTaskRun = true
        /// True (the default): every send made on the ring owner's thread (nowait, blocking, or
        /// an async call's, which then waits for the send's CQE) is an SQE of the owner's next
        /// batch, with no send(2) of its own; a send made on any other thread is tried with
        /// send(2) first, and only what must wait goes to the ring. False: a send is tried with
        /// send(2) first on the owner's thread too, except a nowait or blocking send of 16 KiB
        /// or more, which goes to the ring at once. The default has been measured both ways at
        /// 64, 512 and 10,000 connections: send(2) first was 1.03x-1.12x faster for the nowait
        /// server on 2026-12-05 ("Seventeenth session" in docs/architecture.md), the ring
        /// 1.00x-1.07x for it and 1.04x-1.16x for the async server on 2026-12-06, with lighter
        /// operations ("Twenty-first session"); for 64 KiB sends on four connections the ring
        /// was 1.4x faster ("Twentieth session").
        public var sendsThroughRing = true
        /// True (the default): a stream's plain receives wait on one multishot receive and a
        /// listener's accepts on one multishot accept, where the kernel has them. False: an SQE
        /// per receive and per accept (to measure the difference).
        public var multishot = true
        /// False (the default): a multishot receive's CQE brings the data of one provided
        /// buffer. True: the multishot receives ask for bundles (`IORING_RECVSEND_BUNDLE`) where
        /// the kernel has them (`IORING_FEAT_RECVSEND_BUNDLE`, Linux 6.10+; with incremental
        /// buffers, 6.15+): what arrived together may fill several buffers and comes in one CQE.
        /// Measured on 2026-12-05: 1.11x and 1.13x on a stream received over 4 and 64
        /// connections, 0.70x-0.79x over one (0.67x and 1.10x again once joined data was copied
        /// only once), level on echo and the idle wave (docs/architecture.md, "Eighteenth
        /// session"). `info()` says which (`receive_bundles`).
        public var receiveBundles = false

        public init() {}
    }

    /// The configuration the backend runs with.
    public let configuration: Configuration
    let gate = PollGate(callersLead: false)
    /// Runs tasks on the ring owner's thread (see ``BackendExecutor``).
    public let executor: BackendExecutor
    /// Deadlines of async calls' timeouts on this backend.
    let timers = TimerQueue()
    private let table = SocketTable()
    private var thread: BackgroundThread?
    /// What the ring offers, learnt at setup (and when the kernel refuses something).
    let features = RingFeatures()

    // The ring owner's own state.
    /// A constant (set up later, by the owner): the owner's reads of it take no reference count.
    private let ring = Ring()
    @exclusivity(unchecked) private var buffers: ProvidedBuffers?
    /// The multishot receives ask for bundles (set at setup: configured, and the kernel has
    /// them).
    @exclusivity(unchecked) private var bundles = false
    /// The most bytes of back-to-back CQEs delivered as one (a receive of whatever is available
    /// takes at most `{otp, rcvbuf}`, 64 KiB by default; the rest is read ahead).
    private static let gatherLimit = 64 * 1024
    /// How many CQEs ahead of the one being handled the harvest prefetches the socket (and
    /// operation) of (``KernelHolds/prefetch(_:operation:)``).
    private static let prefetchDistance = 4
    @exclusivity(unchecked) private var wakeArmed = false
    /// Completions reaped but not handled yet (moved aside while the kernel could take no more
    /// submissions), and the batch being handled.
    @exclusivity(unchecked) private var reaped: [Ring.Completion] = []
    @exclusivity(unchecked) private var handling: [Ring.Completion] = []
    /// The generation when the owner last began to look for work: loaded at the end of each
    /// ``pollOnce(timeout:)``, before the loop looks at its jobs, the stop, the timers and the
    /// requests again, so a kick that came after it looked at any of them keeps it awake.
    @exclusivity(unchecked) private var seenGeneration: UInt64 = 0
    /// The references SQEs hold: each operation and each cancel in the kernel holds its
    /// operation until its last CQE. The ring may be released only when none is left (a cancel's
    /// own CQE can come after its target's last one, after the socket closed).
    @exclusivity(unchecked) private var kernel = KernelHolds()
    /// Whether an `io_uring_enter` (or submit) failed unexpectedly, and with which errno. Once
    /// it did, the owner gives every operation the kernel held its last completion
    /// (``brokenRingResult``), answers every later one at once the same way, waits on the
    /// eventfd with poll(2) instead of the ring, and keeps the ring's memory and the operations
    /// for the process's life (the kernel may still write into their buffers).
    private let failure = KernelObjectFailure()
    /// Whether the operations the broken ring held were given their last completion.
    @exclusivity(unchecked) private var abandoned = false

    /// What other threads hand to the owner, and the wake-up that tells it.
    private enum Request {
        case arm(Operation)
        case cancel(Operation)
    }
    private let requests = Locked<[Request]>([])
    /// The owner's empty array that trades places with ``requests`` when it takes them in.
    @exclusivity(unchecked) private var spareRequests: [Request] = []
    /// True from a hand-over until the owner takes the requests in: the owner's turn looks at
    /// ``requests`` (a lock) only when some were handed over. Set after the request is queued
    /// and before the kick, so an owner that finds it false either takes the request in its next
    /// turn (the kick kept it awake) or is woken for it.
    private let requestsQueued = Atomic<Bool>(false)
    /// Moved by every ``kick()``: the owner does not go to sleep when it moved since
    /// ``seenGeneration``.
    private let generation = Atomic<UInt64>(0)
    /// True while the owner is (about to be) asleep in the kernel: the next queued work writes
    /// the eventfd, once.
    private let asleep = Atomic<Bool>(false)
    private let wakeup: WakeupDescriptor
    private let wakeBuffer = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)
    private static let wakeTag = KernelHolds.wakeUserData

    /// What the setup came to (read-only once init returned).
    private var setupFlags = ""
    private var fallbackReason: String?
    /// Why the provided-buffer ring is not the configured incremental one (set at setup).
    private var buffersFallback: String?
    /// "8 x 65536, incremental", "512 x 16384" or "off" (set at setup).
    private var providedBuffersSummary = "off"
    /// What `info()` says of bundles (set at setup).
    private var bundlesSummary = "off"

    private let submissions = Atomic<UInt64>(0)
    private let completions = Atomic<UInt64>(0)
    private let harvests = Atomic<UInt64>(0)
    private let handOffs = Atomic<UInt64>(0)
    private let wakeups = Atomic<UInt64>(0)
    private let busyRetries = Atomic<UInt64>(0)
    private let enterErrors = Atomic<UInt64>(0)
    private let gathered = Atomic<UInt64>(0)
    private let bundled = Atomic<UInt64>(0)
    private let receiversArmed = Atomic<UInt64>(0)
    /// Multishot receives that ended for want of a provided buffer (ENOBUFS).
    private let receiversRanDry = Atomic<UInt64>(0)

    /// Sets up an io_uring instance on its owner thread. Throws the kernel's error when io_uring
    /// cannot start (EPERM when `kernel.io_uring_disabled` or a seccomp profile forbids it,
    /// ENOSYS on kernels without it, ENOMEM when locked memory is short).
    public init(configuration: Configuration = Configuration()) throws(SocketError) {
        self.configuration = configuration
        completionRules = CompletionRules(gate: gate, features: features, ringSends: configuration.sendsThroughRing)
        wakeup = try WakeupDescriptor()
        executor = BackendExecutor(gate: gate)
        executor.driver = self
        let report = SetupReport()
        // The thread holds the backend until its loop ends: a running backend lives until
        // shutdown(), whoever else holds it.
        thread = try BackgroundThread(name: "esock-harvest") { [self] in
            let failure = self.setUp()
            report.set(failure)
            guard failure == nil else { return }
            self.runBackground()
            self.tearDown()
        }
        if let failure = report.wait() {
            thread?.join()
            wakeup.close()
            throw failure
        }
        Drivers.add(self)
    }

    deinit {
        wakeBuffer.deallocate()
    }

    var rules: any IOModelRules { completionRules }

    func sendsThroughKernel(for caller: Caller, bytes: Int) -> Bool { completionRules.sendsThroughKernel(for: caller, bytes: bytes) }

    var operationsKeepData: Bool { completionRules.operationsKeepData }

    /// This backend's rules, as the completion transitions take them (one instance).
    private let completionRules: CompletionRules

    func attach(_ socket: Socket) throws(SocketError) {
        try table.attach(socket, backend: name)
    }

    func detach(_ socket: Socket) {
        table.detach(socket)
    }

    // MARK: The owner's thread: setup and teardown

    /// Sets the ring up on the owner thread (so that it is the ring's single issuer). Returns
    /// the error when io_uring cannot start.
    private func setUp() -> SocketError? {
        let wanted = configuration.deferTaskRun ? UInt32(IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN) : 0
        do throws(SocketError.Errno) {
            do {
                try ring.setUp(entries: configuration.entries, completionEntries: configuration.completionEntries,
                               flags: wanted)
                setupFlags = wanted == 0 ? "CQSIZE" : "CQSIZE, SINGLE_ISSUER, DEFER_TASKRUN"
            } catch where wanted != 0 && error == .invalidArgument {
                // Kernels before 6.1 refuse DEFER_TASKRUN (before 6.0 SINGLE_ISSUER).
                try ring.setUp(entries: configuration.entries, completionEntries: configuration.completionEntries,
                               flags: 0)
                setupFlags = "CQSIZE"
                fallbackReason = "the kernel refused SINGLE_ISSUER|DEFER_TASKRUN (einval)"
            }
        } catch {
            return SocketError(.posix(error))
        }
        buffers = setUpBuffers()
        providedBuffersSummary = buffers?.summary ?? "off"
        let kernelBundles = ring.features & ESOCK_FEAT_RECVSEND_BUNDLE != 0
        bundles = configuration.receiveBundles && kernelBundles && buffers != nil && configuration.multishot
        bundlesSummary = bundles ? "on"
            : !configuration.receiveBundles || !configuration.multishot ? "off (configured)"
            : buffers == nil ? "off (no provided-buffer ring)"
            : "off (the kernel has no IORING_FEAT_RECVSEND_BUNDLE; Linux 6.10+)"
        if let buffers {
            features.setReceiveRingBytes(buffers.count * buffers.size)
            features.setMultishotReceive(configuration.multishot)
        }
        if !configuration.multishot { features.setMultishotAccept(false) }
        seenGeneration = generation.load(ordering: .acquiring)
        return nil
    }

    /// The provided-buffer ring: incremental where the configuration asks for it and the kernel
    /// has it (Linux 6.12+), whole buffers otherwise; nil when neither is configured or the
    /// kernel refused both (each receive then owns its memory).
    private func setUpBuffers() -> ProvidedBuffers? {
        if configuration.incrementalBuffers > 0 && configuration.multishot {
            do throws(SocketError.Errno) {
                return try ProvidedBuffers(on: ring, count: Int(configuration.incrementalBuffers),
                                           size: Int(configuration.incrementalBufferSize), incremental: true)
            } catch {
                buffersFallback = "the kernel refused incremental buffers (\(error)): whole buffers"
            }
        }
        guard configuration.providedBuffers > 0 else { return nil }
        do throws(SocketError.Errno) {
            return try ProvidedBuffers(on: ring, count: Int(configuration.providedBuffers),
                                       size: Int(configuration.providedBufferSize), incremental: false)
        } catch {
            buffersFallback = "the kernel refused a provided-buffer ring (\(error))"
            return nil
        }
    }

    /// Releases the ring and its buffers once the owner's loop ended. Every socket was closed
    /// first, so what may be left is requests handed over after the owner's last turn and
    /// cancels whose own CQEs did not come yet (and the wake-up read, which the exit cancels):
    /// they are taken and their CQEs reaped first, so that the operations they retain are
    /// released. What the kernel has not given back in
    /// ``drainLimit`` stays retained (never freed under the kernel), and debug builds trap.
    private func tearDown() {
        gate.awaitIdle()
        // What was handed over after the owner's last turn: a close's cancel of a receiver
        // that ended meanwhile (the peer's end of the stream) can be left. It holds its operation
        // (and so its socket and this backend) until it is taken.
        takeRequests()
        let start = ContinuousClock.now
        while kernel.count > 0 && !failure.happened && ContinuousClock.now - start < Self.drainLimit {
            enter(wait: true, timeout: .milliseconds(100))
            handleCompletions()
        }
        if failure.happened {
            // The kernel may still use the ring and the buffers: they are kept.
            abandonKernel()
            BrokenRings.keep(ring, buffers)
            wakeup.close()
            return
        }
        assert(kernel.count == 0, "the ring is released with \(kernel.count) operations in the kernel")
        buffers?.release(from: ring)
        buffers = nil
        ring.close()
        wakeup.close()
    }

    /// How long ``tearDown()`` waits for the kernel's last CQEs.
    private static let drainLimit = Duration.seconds(10)

    // MARK: Handing operations to the kernel

    func arm(_ op: Operation) {
        if gate.isBackgroundThread { prepare(op) } else { handOver(.arm(op)) }
    }

    func cancelInKernel(_ op: Operation) {
        if gate.isBackgroundThread { prepareCancel(op) } else { handOver(.cancel(op)) }
    }

    /// A receive with a zero timeout found nothing, or a receive's time ran out, while the
    /// socket's multishot receiver is armed (so it made no kernel call of its own): the ring
    /// owner handles what the kernel has (one `io_uring_enter` without waiting, on its thread),
    /// so that data already in the socket reaches the waiting receive or the read-ahead, as a
    /// kernel call of the receive's own would have read it. A caller on another thread waits
    /// for the owner to do it.
    func catchUp(_ socket: Socket) -> Bool {
        guard socket.state.withLock({ $0.receiver != nil }) else { return false }
        if gate.isBackgroundThread {
            pollNow()
        } else {
            _ = try? runOnBackgroundThread { self.pollNow() }
        }
        return true
    }

    /// Queues a request for the owner and wakes it if it sleeps.
    private func handOver(_ request: Request) {
        requests.withLock { $0.append(request) }
        requestsQueued.store(true, ordering: .releasing)
        handOffs.wrappingAdd(1, ordering: .relaxed)
        kick()
    }

    /// Tells the owner that something changed (a request, a job, an earlier timer, the stop)
    /// and wakes it when it sleeps in the kernel (one eventfd write per sleep, however many
    /// kicks come meanwhile). The generation moves first: an owner about to sleep either sees
    /// it moved since it last looked for work, or has said it sleeps and gets the write.
    func kick() {
        generation.wrappingAdd(1, ordering: .sequentiallyConsistent)
        guard asleep.exchange(false, ordering: .sequentiallyConsistent) else { return }
        wakeups.wrappingAdd(1, ordering: .relaxed)
        wakeup.signal()
    }

    func jobQueued(pollerBusy: Bool) {
        kick()
    }

    func tryLead(_ waiter: GateWaiter) -> (lead: Bool, kick: Bool) { gate.tryLead(waiter) }

    func pollAsLeader(timeout: Duration?) { leadOnce(timeout: timeout) }

    func demandBackground(_ delta: Int) -> Bool { gate.demandBackground(delta) }

    /// The owner prepares `op`'s SQE; it goes to the kernel with the next enter.
    private func prepare(_ op: Operation) {
        if op.cancelledEarly {
            // A cancel (or close) reached the owner before the operation: it never goes in.
            op.cancelledEarly = false
            op.socket.completed(op, result: -ECANCELED, data: nil, rules: completionRules)
            return
        }
        if failure.happened {
            // The ring failed: nothing goes in any more.
            op.socket.completed(op, result: Self.brokenRingResult, data: nil, rules: completionRules)
            return
        }
        let fd = op.socket.fd
        let request: Ring.Request
        switch op.kind {
        case .recv where op.isReceiver:
            request = .recvMultishot(fd: fd, flags: 0, group: ProvidedBuffers.group, bundle: bundles)
            receiversArmed.wrappingAdd(1, ordering: .relaxed)
        case .recv where op.target != nil:
            let target = op.target!
            op.armedLength = min(target.count, Int(Int32.max))
            request = .recv(fd: fd, buffer: target.baseAddress, length: op.armedLength, flags: op.flags, group: nil)
        case .recv:
            if let message = op.message {
                message.prepareReceive()
                request = .recvmsg(fd: fd, header: message.header, flags: op.flags)
            } else if op.length == 0 {
                // A stream's receive of whatever is available may read into a provided buffer
                // (a datagram would be cut to the buffer: it gets memory for the whole of it).
                if let buffers, buffers.acceptsSingleReceives, op.socket.type == .stream {
                    op.armedLength = min(op.armedLength, buffers.size)
                    request = .recv(fd: fd, buffer: nil, length: op.armedLength, flags: op.flags, group: ProvidedBuffers.group)
                } else {
                    op.armedLength = min(op.armedLength, Operation.receiveChunk)
                    let b = op.receiveBuffer(op.armedLength)
                    request = .recv(fd: fd, buffer: b.baseAddress, length: op.armedLength, flags: op.flags, group: nil)
                }
            } else {
                // Memory for what can arrive, at most a chunk at a time, not for what was asked.
                op.armedLength = min(op.length - op.received.count, Operation.receiveChunk)
                let b = op.receiveBuffer(op.armedLength)
                let waitAll = op.socket.type == .stream ? ESOCK_MSG_WAITALL : 0
                request = .recv(fd: fd, buffer: b.baseAddress, length: op.armedLength, flags: op.flags | waitAll, group: nil)
            }
        case .send:
            if let message = op.message {
                message.prepareSend(iovMax: Syscall.iovMax)
                request = .sendmsg(fd: fd, header: message.header, flags: op.flags | ESOCK_MSG_NOSIGNAL)
            } else {
                let chunk = op.unsent
                request = .send(fd: fd, buffer: chunk.baseAddress, length: min(chunk.count, Int(Int32.max)),
                                flags: op.flags | ESOCK_MSG_NOSIGNAL)
            }
        case .accept where op.isReceiver:
            request = .acceptMultishot(fd: fd, flags: Int32(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue))
        case .accept:
            request = .accept(fd: fd, flags: Int32(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue))
        case .connect, .sendfile:
            request = .poll(fd: fd, mask: ESOCK_POLLOUT)
        }
        op.submitted = true
        op.inKernel = true
        let (slot, userData) = kernel.hold(op, as: .operation)
        op.kernelSlot = slot
        prepare(request, userData: userData)
        submissions.wrappingAdd(1, ordering: .relaxed)
    }

    /// The owner asks the kernel to cancel `op`, by its SQE's user data. The cancel's own SQE
    /// holds `op` too until its CQE, and the slot (and so the user data) it matches is not
    /// given to another operation while the cancel may still match it (``KernelHolds``).
    private func prepareCancel(_ op: Operation) {
        guard op.submitted else {
            op.cancelledEarly = true
            return
        }
        // Its last CQE was handled already: the transition saw the cancel. (After the ring
        // failed, every operation it held was given its last completion.)
        guard op.inKernel, !failure.happened else { return }
        let target = KernelHolds.userData(op.kernelSlot, .operation)
        let userData = kernel.holdCancel(of: op, target: op.kernelSlot)
        prepare(.cancel(target: target), userData: userData)
        submissions.wrappingAdd(1, ordering: .relaxed)
    }

    /// Prepares an SQE (``Ring/prepare(_:userData:)``), making room when the kernel is busy.
    private func prepare(_ request: Ring.Request, userData: UInt64) {
        do throws(SocketError.Errno) {
            while try !ring.prepare(request, userData: userData) { makeRoom() }
        } catch {
            ringBroken(error)
        }
    }

    /// io_uring_enter (or a submit to make room) failed with an errno this backend does not
    /// expect (not EINTR, ETIME, EBUSY or EAGAIN): the ring's state is unknown, and with it
    /// which buffers the kernel still uses. The backend stops taking sockets; its owner gives
    /// what the kernel held its last completion at the end of this turn (``abandonKernel()``)
    /// and answers every later operation at once, with ``brokenRingResult``; the ring's memory
    /// and the operations stay for the process's life. `info()` says why.
    private func ringBroken(_ error: SocketError.Errno) {
        enterErrors.wrappingAdd(1, ordering: .relaxed)
        guard failure.record(error) else { return }
        table.refuse("\(name) (its ring failed: \(error.name))")
    }

    /// What an operation of a ring that failed completes with: EBADFD, "file descriptor in bad
    /// state" (the ring's), an errno no socket call returns, so the caller can tell it apart.
    static let brokenRingResult = -EBADFD

    /// The ring failed: every operation it held gets its last completion now (a waiting one
    /// fails with ``brokenRingResult``, a cancelled one is over, a closing socket's drain ends),
    /// and the references stay in ``BrokenRings``, since the kernel may still write into their
    /// buffers. CQEs reaped before the failure are handled first. Owner thread.
    private func abandonKernel() {
        guard failure.happened, !abandoned else { return }
        abandoned = true
        if !reaped.isEmpty { handleCompletions(reapingMore: false) }
        let held = kernel.operations
        BrokenRings.keep(kernel)
        kernel = KernelHolds()
        for op in held {
            op.inKernel = false
            op.kernelSlot = -1
            op.socket.completed(op, result: Self.brokenRingResult, data: nil, more: false, rules: completionRules)
        }
    }

    /// The kernel takes no more submissions until completions are reaped: they are moved aside
    /// (and handled by the owner's loop).
    private func makeRoom() {
        busyRetries.wrappingAdd(1, ordering: .relaxed)
        ring.reap(into: &reaped)
    }

    // MARK: The owner's kernel wait

    /// Takes in what other threads handed over, submits every SQE prepared since the last call,
    /// waits for a completion (unless there is work already, or `timeout` is zero) and handles
    /// every completion ready. Only the owner calls it (the gate lets no other thread lead).
    func pollOnce(timeout: Duration?) {
        // What the owner saw when it last began to look for work: loading the generation here
        // instead would miss a kick that came after the loop looked at its jobs or its timers
        // (the stop of a backend whose owner then slept for ever; a job or an earlier deadline
        // left waiting for the next completion).
        let before = seenGeneration
        if failure.happened { return pollWithoutRing(timeout: timeout, since: before) }
        takeRequests()
        if !wakeArmed {
            prepare(.read(fd: wakeup.raw, buffer: wakeBuffer, length: 8), userData: Self.wakeTag)
            wakeArmed = true
        }
        var wait = timeout != .zero && reaped.isEmpty
        if wait {
            asleep.store(true, ordering: .sequentiallyConsistent)
            if generation.load(ordering: .sequentiallyConsistent) != before { wait = false }
        }
        enter(wait: wait, timeout: timeout)
        asleep.store(false, ordering: .sequentiallyConsistent)
        if failure.happened {
            abandonKernel()
        } else {
            handleCompletions()
        }
        seenGeneration = generation.load(ordering: .sequentiallyConsistent)
    }

    /// The owner's turn once the ring failed: what was handed over is answered at once, and the
    /// owner waits on the eventfd with poll(2), at most ``brokenPollLimit`` at a time (without
    /// DEFER_TASKRUN the ring's armed read of the eventfd may still take a wake-up).
    private func pollWithoutRing(timeout: Duration?, since before: UInt64) {
        abandonKernel()
        takeRequests()
        var wait = timeout != .zero
        if wait {
            asleep.store(true, ordering: .sequentiallyConsistent)
            if generation.load(ordering: .sequentiallyConsistent) != before { wait = false }
        }
        if wait {
            let limit = min(timeout ?? Self.brokenPollLimit, Self.brokenPollLimit)
            var wake = pollfd(fd: wakeup.raw, events: Int16(POLLIN), revents: 0)
            _ = Glibc.poll(&wake, 1, Int32(clamping: limit.clampedMilliseconds))
        }
        asleep.store(false, ordering: .sequentiallyConsistent)
        wakeup.drain()
        seenGeneration = generation.load(ordering: .sequentiallyConsistent)
    }

    /// The longest the owner of a failed ring sleeps in one turn.
    private static let brokenPollLimit = Duration.milliseconds(10)

    /// Prepares what other threads handed over. The queue and the owner's spare array trade
    /// places: neither is copied, so taking requests in allocates nothing once both have grown.
    private func takeRequests() {
        guard requestsQueued.exchange(false, ordering: .acquiringAndReleasing) else { return }
        var handed: [Request] = []
        swap(&handed, &spareRequests)
        requests.withLock { swap(&$0, &handed) }
        for request in handed {
            switch request {
            case .arm(let op): prepare(op)
            case .cancel(let op): prepareCancel(op)
            }
        }
        handed.removeAll(keepingCapacity: true)
        swap(&handed, &spareRequests)
    }

    /// io_uring_enter until every SQE went in: EBUSY/EAGAIN reap first; EINTR and timeouts end
    /// a wait; anything else means the ring failed (``ringBroken(_:)``), and nothing more goes in.
    private func enter(wait: Bool, timeout: Duration?) {
        var wait = wait
        while !failure.happened {
            do throws(SocketError.Errno) {
                if try ring.submit(wait: wait, timeout: timeout) { return }
                makeRoom()
                wait = false
            } catch {
                ringBroken(error)
            }
        }
    }

    /// Handles every completion reaped: each operation's result goes to its socket's state
    /// machine; provided buffers go back to the kernel once their bytes were copied.
    private func handleCompletions(reapingMore: Bool = true) {
        if reapingMore { ring.reap(into: &reaped) }
        guard !reaped.isEmpty else { return }
        swap(&reaped, &handling)
        harvests.wrappingAdd(1, ordering: .relaxed)
        completions.wrappingAdd(UInt64(handling.count), ordering: .relaxed)
        do {
            // The batch as it is now (the array's storage, not a copy): what the handling does
            // cannot change which CQEs this loop goes through. Released before the array is
            // emptied, which then keeps its storage.
            let batch = handling
            var i = 0
            var fetched = 0
            while i < batch.count {
                // What the CQEs a few places ahead will touch is fetched while these are handled.
                while fetched < min(batch.count, i + Self.prefetchDistance) {
                    let c = batch[fetched]
                    if let (slot, kind) = KernelHolds.decode(c.userData), kind == .operation {
                        kernel.prefetch(slot, operation: c.flags & ESOCK_CQE_F_MORE == 0)
                    }
                    fetched += 1
                }
                let run = gatherableRun(batch, at: i)
                if run > 1 || (bundles && buffers?.spansBuffers(flags: batch[i].flags, result: batch[i].result) == true) {
                    handleGathered(batch, i, run)
                } else {
                    handle(batch[i])
                }
                i += run
            }
        }
        handling.removeAll(keepingCapacity: true)
    }

    /// How many CQEs from `i` on are one multishot receive's data back to back (1 when
    /// `handling[i]` is not such a CQE or no other follows it): the kernel cut what arrived
    /// together at the end of an incremental buffer (the rest comes from the next buffer in the
    /// next CQE), or read again at once because more had come. At most ``gatherLimit`` bytes.
    private func gatherableRun(_ batch: [Ring.Completion], at i: Int) -> Int {
        let first = batch[i]
        guard buffers != nil, first.result > 0, first.flags & ESOCK_CQE_F_BUFFER != 0,
              first.flags & ESOCK_CQE_F_MORE != 0, KernelHolds.decode(first.userData)?.kind == .operation else {
            return 1
        }
        var total = Int(first.result)
        var j = i + 1
        while j < batch.count {
            let c = batch[j]
            guard c.userData == first.userData, c.result > 0, c.flags & ESOCK_CQE_F_BUFFER != 0,
                  total + Int(c.result) <= Self.gatherLimit else { break }
            total += Int(c.result)
            j += 1
            if c.flags & ESOCK_CQE_F_MORE == 0 { break }
        }
        return j - i
    }

    /// Delivers `count` CQEs of one multishot receive (``gatherableRun(_:at:)``), or one CQE
    /// whose data fills several buffers (a bundle's), as one: their bytes copied, in order, into
    /// one array and their buffers given back, so that a receive of whatever is available gets
    /// what arrived together, as recv(2) would (not the first piece of a message the end of a
    /// buffer cut). The array itself goes to the receive (or the read-ahead) where it can: the
    /// bytes are copied once.
    private func handleGathered(_ batch: [Ring.Completion], _ start: Int, _ count: Int) {
        guard let buffers else { return }
        let last = batch[start + count - 1]
        var total = 0
        for k in start..<(start + count) {
            total += ProvidedBuffers.length(flags: batch[k].flags, result: batch[k].result)
        }
        let bytes = [UInt8](unsafeUninitializedCapacity: total) { typed, filled in
            let memory = UnsafeMutableRawBufferPointer(typed)
            filled = 0
            for k in start..<(start + count) {
                let c = batch[k]
                if bundles && buffers.spansBuffers(flags: c.flags, result: c.result) {
                    bundled.wrappingAdd(1, ordering: .relaxed)
                }
                filled += buffers.copyOut(flags: c.flags, result: c.result,
                                          into: UnsafeMutableRawBufferPointer(rebasing: memory[filled...]))
            }
        }
        gathered.wrappingAdd(UInt64(count - 1), ordering: .relaxed)
        deliverGathered(last.userData, more: last.flags & ESOCK_CQE_F_MORE != 0, bytes)
    }

    /// ``deliver(_:more:result:data:)`` for data put together in an array.
    private func deliverGathered(_ userData: UInt64, more: Bool, _ bytes: [UInt8]) {
        withTarget(of: userData, more: more) { socket, op in
            socket.completed(op, gathered: bytes, more: more, rules: completionRules)
        }
    }

    /// Hands a CQE's result to the socket of the operation its user data names.
    private func deliver(_ userData: UInt64, more: Bool, result: Int32, data: UnsafeRawBufferPointer?) {
        withTarget(of: userData, more: more) { socket, op in
            if result == -ENOBUFS && !more && op.isReceiver { receiversRanDry.wrappingAdd(1, ordering: .relaxed) }
            socket.completed(op, result: result, data: data, more: more, rules: completionRules)
        }
    }

    /// Runs `body` with the operation a CQE's user data names and its socket. A CQE with more
    /// to come (a multishot receive's data, an accepted connection) leaves the operation in the
    /// kernel's holds, which keep it, and it its socket, for the whole call: both are used
    /// unretained, and the operation's memory is not read (the socket knows its own receiver;
    /// at 10,000 connections that was a cold cache line, and a retain and a release on it, per
    /// message). The last CQE takes the operation out of the holds: the kernel is done with it.
    @inline(__always)
    private func withTarget(of userData: UInt64, more: Bool, _ body: (Socket, Operation) -> Void) {
        guard let (slot, kind) = KernelHolds.decode(userData), kind == .operation else { return }
        if more {
            guard let peer = kernel.peer(slot) else { return }
            peer.socket._withUnsafeGuaranteedRef { socket in
                peer.operation._withUnsafeGuaranteedRef { op in body(socket, op) }
            }
            return
        }
        guard let op = kernel.release(slot) else { return }
        op.inKernel = false
        op.kernelSlot = -1
        // `op` holds its socket for the whole call (and `op` is held here): the socket is used
        // without a reference count of its own (it was a retain and a release per CQE).
        Unmanaged.passUnretained(op.socket)._withUnsafeGuaranteedRef { body($0, op) }
    }

    private func handle(_ c: Ring.Completion) {
        if c.userData == Self.wakeTag {
            wakeArmed = false
            return
        }
        if KernelHolds.decode(c.userData)?.kind == .cancel {
            // A cancel's own CQE: its hold on the target goes.
            kernel.releaseCancel(c.userData)
            return
        }
        let provided = buffers?.data(flags: c.flags, result: c.result)
        deliver(c.userData, more: c.flags & ESOCK_CQE_F_MORE != 0, result: c.result, data: provided?.bytes)
        // The bytes were copied out: the buffer goes back (unless the kernel keeps filling it).
        if let id = provided?.giveBack { buffers?.giveBack(id) }
    }

    // MARK: Info and shutdown

    /// Runs `body` on the backend's own thread (see ``IOBackend/run(_:)``).
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) throws -> T {
        try runOnBackgroundThread(body)
    }

    public func info() -> BackendInfo {
        var settings = ["sq_entries": "\(configuration.entries)",
                        "cq_entries": "\(configuration.completionEntries)",
                        "provided_buffers": providedBuffersSummary,
                        "setup_flags": setupFlags,
                        "threading": "one ring owner thread submits and reaps; other threads hand operations over",
                        "state": table.isStopped ? "stopped" : "running"]
        if let error = failure.error { settings["state"] = "broken: io_uring_enter failed: \(error.name)" }
        if let fallbackReason { settings["setup_fallback"] = fallbackReason }
        if let buffersFallback { settings["provided_buffers_fallback"] = buffersFallback }
        settings["multishot_receive"] = features.multishotReceive ? "on" : "off"
        settings["multishot_accept"] = features.multishotAccept ? "on" : "off"
        settings["receive_bundles"] = bundlesSummary
        settings["sends"] = configuration.sendsThroughRing
            ? "every send made on the ring owner's thread through the ring; on other threads send(2) first, what must wait through the ring"
            : "send(2) first, but on the ring owner's thread nowait and blocking sends of 16 KiB or more through the ring; what must wait through the ring"
        return BackendInfo(name: name, model: model, threads: 1,
                           counters: ["submissions": submissions.load(ordering: .relaxed),
                                      "completions": completions.load(ordering: .relaxed),
                                      "harvests": harvests.load(ordering: .relaxed),
                                      "hand_offs": handOffs.load(ordering: .relaxed),
                                      "wakeups": wakeups.load(ordering: .relaxed),
                                      "busy_retries": busyRetries.load(ordering: .relaxed),
                                      "enter_errors": enterErrors.load(ordering: .relaxed),
                                      "gathered_completions": gathered.load(ordering: .relaxed),
                                      "bundled_completions": bundled.load(ordering: .relaxed),
                                      "multishot_receivers": receiversArmed.load(ordering: .relaxed),
                                      "receivers_ran_dry": receiversRanDry.load(ordering: .relaxed),
                                      "sockets": UInt64(table.count)],
                           settings: settings)
    }

    /// Stops the backend: refuses new sockets, closes those still open (their operations are
    /// aborted and drained), then ends the owner thread, which releases the ring. Called from a
    /// task or job on the owner's own thread, it returns at once and the thread ends when that
    /// job does.
    public func shutdown() {
        guard table.stop(self) else { return }
        gate.stop()
        kick()
        if gate.isBackgroundThread { return }
        thread?.join()
    }
}

/// The owner thread's setup outcome, handed to the thread that runs init.
private final class SetupReport: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    // Guarded by `mutex`.
    private var done = false
    private var failure: SocketError?

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(cond, nil)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        cond.deallocate()
        mutex.deallocate()
    }

    func set(_ f: SocketError?) {
        pthread_mutex_lock(mutex)
        failure = f
        done = true
        pthread_cond_broadcast(cond)
        pthread_mutex_unlock(mutex)
    }

    func wait() -> SocketError? {
        pthread_mutex_lock(mutex)
        while !done { pthread_cond_wait(cond, mutex) }
        let f = failure
        pthread_mutex_unlock(mutex)
        return f
    }
}
