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
/// with sendfile(2)). Callers submit under a lock; one harvester thread waits for CQEs and turns
/// each into the operation's completion message. An operation is retained by its SQE (its
/// address is the user data) until its CQE is harvested, so its buffers outlive the kernel's use
/// of them. A recv of "whatever is available" uses a provided-buffer ring, so a socket that waits
/// holds no buffer of its own.
public final class CompletionBackend: IOBackendDriver, @unchecked Sendable {
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

        public init() {}
    }

    /// The configuration the backend runs with.
    public let configuration: Configuration
    private let ring: UnsafeMutablePointer<io_uring>
    private let submitLock = Mutex<Void>(())
    private let bufferGroup: UInt16 = 1
    private var bufferRing: UnsafeMutablePointer<io_uring_buf_ring>?
    private var bufferBase: UnsafeMutableRawPointer?
    private var thread: BackgroundThread?
    private let stopped = Mutex<Bool>(false)
    private let submissions = Atomic<UInt64>(0)
    private let completions = Atomic<UInt64>(0)
    private let harvests = Atomic<UInt64>(0)
    private let busyRetries = Atomic<UInt64>(0)
    private let sockets = Mutex<[UInt64: WeakSocket]>([:])

    private struct WeakSocket {
        weak var socket: Socket?
    }

    private static let stopTag: UInt64 = 1

    /// Sets up an io_uring instance and its harvester thread. Throws the kernel's error when
    /// io_uring cannot start (EPERM when `kernel.io_uring_disabled` or a seccomp profile forbids
    /// it, ENOSYS on kernels without it, ENOMEM when locked memory is short).
    public init(configuration: Configuration = Configuration()) throws(SocketError) {
        self.configuration = configuration
        ring = .allocate(capacity: 1)
        ring.initialize(to: io_uring())
        var params = io_uring_params()
        params.flags = UInt32(IORING_SETUP_CQSIZE)
        params.cq_entries = configuration.completionEntries
        let rc = io_uring_queue_init_params(configuration.entries, ring, &params)
        guard rc == 0 else {
            ring.deallocate()
            throw .posix(-rc)
        }
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
        thread = try BackgroundThread(name: "esock-harvest") { [unowned self] in self.harvest() }
    }

    deinit {
        shutdown()
        ring.deallocate()
    }

    func attach(_ socket: Socket) throws(SocketError) {
        sockets.withLock { $0[socket.id] = WeakSocket(socket: socket) }
    }

    func detach(_ socket: Socket) {
        _ = sockets.withLock { $0.removeValue(forKey: socket.id) }
    }

    // MARK: Submission

    /// Gets an SQE, lets `prepare` fill it, and submits it; retries while the rings are full.
    private func submit(_ prepare: (UnsafeMutablePointer<io_uring_sqe>) -> Void) throws(SocketError) {
        var busy = false
        while true {
            let rc: Int32 = submitLock.withLock { _ in
                var sqe = io_uring_get_sqe(ring)
                if sqe == nil {
                    _ = io_uring_submit(ring)
                    sqe = io_uring_get_sqe(ring)
                }
                guard let sqe else { return -EBUSY }
                prepare(sqe)
                // EBUSY: the completion queue is full; the SQE stays queued and goes with the
                // next submit, once the harvester has made room.
                let n = io_uring_submit(ring)
                return n < 0 && n != -EBUSY && n != -EAGAIN ? n : 0
            }
            if rc == 0 {
                submissions.wrappingAdd(1, ordering: .relaxed)
                return
            }
            if rc != -EBUSY { throw .posix(-rc) }
            if !busy { busyRetries.wrappingAdd(1, ordering: .relaxed) }
            busy = true
            sched_yield()
        }
    }

    func arm(_ op: Operation, _ state: inout SocketState) throws(SocketError) {
        let fd = op.socket.fd
        let userData = UInt64(UInt(bitPattern: Unmanaged.passRetained(op).toOpaque()))
        let bufferSize = configuration.providedBufferSize
        let useProvided = op.kind == .recv && op.length == 0 && bufferRing != nil
        if op.kind == .recv && !useProvided {
            // The kernel writes into the operation's own buffer, for exactly what is missing.
            let want = op.length > 0 ? op.length - op.received.count : Int(bufferSize)
            if op.buffer == nil || op.buffer!.count < want {
                op.buffer?.deallocate()
                op.buffer = .allocate(byteCount: want, alignment: 16)
            }
        }
        do {
            try submit { sqe in
                switch op.kind {
                case .recv:
                    if useProvided {
                        io_uring_prep_recv(sqe, fd, nil, Int(bufferSize), op.flags)
                        esock_sqe_set_buf_group(sqe, bufferGroup)
                    } else {
                        let want = op.length > 0 ? op.length - op.received.count : Int(bufferSize)
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
        } catch {
            Unmanaged<Operation>.fromOpaque(UnsafeRawPointer(bitPattern: UInt(userData))!).release()
            throw error
        }
        state.inflight += 1
    }

    func cancelInKernel(_ op: Operation) {
        let target = UInt64(UInt(bitPattern: Unmanaged.passUnretained(op).toOpaque()))
        // A cancel that cannot be submitted leaves the operation to complete on its own; its CQE
        // still comes, so nothing waits forever.
        try? submit { sqe in
            io_uring_prep_cancel64(sqe, target, 0)
            io_uring_sqe_set_data64(sqe, 0)
        }
    }

    // MARK: Harvesting

    private struct Harvested {
        var userData: UInt64
        var result: Int32
        var flags: UInt32
    }

    private func harvest() {
        let capacity = 256
        let cqes = UnsafeMutablePointer<UnsafeMutablePointer<io_uring_cqe>?>.allocate(capacity: capacity)
        defer { cqes.deallocate() }
        var batch: [Harvested] = []
        batch.reserveCapacity(capacity)
        var running = true
        while running {
            var first: UnsafeMutablePointer<io_uring_cqe>?
            let rc = io_uring_wait_cqe(ring, &first)
            if rc < 0 {
                if rc == -EINTR || rc == -EAGAIN { continue }
                break
            }
            let n = Int(io_uring_peek_batch_cqe(ring, cqes, UInt32(capacity)))
            batch.removeAll(keepingCapacity: true)
            for i in 0..<n {
                let c = cqes[i]!.pointee
                batch.append(Harvested(userData: c.user_data, result: c.res, flags: c.flags))
            }
            // Make room in the completion queue before handling, which may submit again.
            io_uring_cq_advance(ring, UInt32(n))
            harvests.wrappingAdd(1, ordering: .relaxed)
            completions.wrappingAdd(UInt64(n), ordering: .relaxed)
            for h in batch {
                if h.userData == 0 { continue }
                if h.userData == Self.stopTag { running = false; continue }
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
        }
    }

    // MARK: Info and shutdown

    public func info() -> BackendInfo {
        BackendInfo(name: name, model: model, threads: 1,
                    counters: ["submissions": submissions.load(ordering: .relaxed),
                               "completions": completions.load(ordering: .relaxed),
                               "harvests": harvests.load(ordering: .relaxed),
                               "busy_retries": busyRetries.load(ordering: .relaxed),
                               "sockets": UInt64(sockets.withLock { $0.count })],
                    settings: ["sq_entries": "\(configuration.entries)",
                               "cq_entries": "\(configuration.completionEntries)",
                               "provided_buffers": bufferRing == nil ? "off" :
                                   "\(configuration.providedBuffers) x \(configuration.providedBufferSize)",
                               "threading": "submit under a lock from caller threads; one harvester thread"])
    }

    public func shutdown() {
        let first = stopped.withLock { s -> Bool in
            defer { s = true }
            return !s
        }
        guard first else { return }
        for s in sockets.withLock({ $0.values.compactMap(\.socket) }) { try? s.close() }
        try? submit { sqe in
            io_uring_prep_nop(sqe)
            io_uring_sqe_set_data64(sqe, Self.stopTag)
        }
        thread?.join()
        if let br = bufferRing {
            esock_buf_ring_free(ring, br, configuration.providedBuffers, Int32(bufferGroup))
            bufferBase?.deallocate()
        }
        io_uring_queue_exit(ring)
    }
}
