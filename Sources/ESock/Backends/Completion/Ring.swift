#if canImport(Glibc)
import Glibc
#endif
import CESockShims
import CLiburing

/// An io_uring instance with no policy: requests go in as values, completions come out. One
/// thread uses it, the completion backend's ring owner; with `IORING_SETUP_SINGLE_ISSUER` the
/// kernel allows no other. Errors are the kernel's, as `throws(SocketError.Errno)`.
final class Ring {
    /// What an SQE asks the kernel to do.
    enum Request {
        /// recv(2) into `buffer`, or into a provided buffer of `group` when `buffer` is nil.
        case recv(fd: Int32, buffer: UnsafeMutableRawPointer?, length: Int, flags: Int32, group: UInt16?)
        /// A multishot receive into provided buffers of `group`: one CQE per piece of data, with
        /// `IORING_CQE_F_MORE` until the last; with `bundle`, a piece may fill several buffers
        /// (`IORING_RECVSEND_BUNDLE`, where the kernel has `IORING_FEAT_RECVSEND_BUNDLE`).
        case recvMultishot(fd: Int32, flags: Int32, group: UInt16, bundle: Bool)
        /// recvmsg(2) with `header`.
        case recvmsg(fd: Int32, header: UnsafeMutablePointer<msghdr>, flags: Int32)
        /// send(2) of `length` bytes at `buffer`.
        case send(fd: Int32, buffer: UnsafeRawPointer?, length: Int, flags: Int32)
        /// sendmsg(2) with `header`.
        case sendmsg(fd: Int32, header: UnsafeMutablePointer<msghdr>, flags: Int32)
        /// accept4(2) with `flags`.
        case accept(fd: Int32, flags: Int32)
        /// A multishot accept: one CQE per connection, with `IORING_CQE_F_MORE` until the last.
        case acceptMultishot(fd: Int32, flags: Int32)
        /// One-shot poll for `mask`.
        case poll(fd: Int32, mask: UInt32)
        /// read(2) of `length` bytes into `buffer`.
        case read(fd: Int32, buffer: UnsafeMutableRawPointer, length: Int)
        /// Cancels the request whose user data is `target`.
        case cancel(target: UInt64)
    }

    private let ring: UnsafeMutablePointer<io_uring>
    /// The setup flags the kernel accepted (0 until ``setUp(entries:completionEntries:flags:)``).
    private(set) var flags: UInt32 = 0
    /// The kernel's feature bits (`IORING_FEAT_*`).
    private(set) var features: UInt32 = 0
    private let batch: UnsafeMutablePointer<UnsafeMutablePointer<io_uring_cqe>?>
    private static let batchSize = 256
    private var isSetUp = false
    private var closed = false

    /// A ring not yet set up: its owner calls ``setUp(entries:completionEntries:flags:)`` on its
    /// own thread (with `IORING_SETUP_SINGLE_ISSUER` the thread that sets it up is the one the
    /// kernel lets submit). Made before the owner thread starts, so that the backend holds it in
    /// a constant: the owner's every use of it then takes no reference count.
    init() {
        ring = .allocate(capacity: 1)
        ring.initialize(to: io_uring())
        batch = .allocate(capacity: Self.batchSize)
    }

    /// A ring set up at once (``setUp(entries:completionEntries:flags:)``).
    convenience init(entries: UInt32, completionEntries: UInt32, flags: UInt32) throws(SocketError.Errno) {
        self.init()
        try setUp(entries: entries, completionEntries: completionEntries, flags: flags)
    }

    /// Sets up the kernel's ring: `entries` SQEs and `completionEntries` CQEs with `flags`
    /// (`IORING_SETUP_CQSIZE` is added). Throws the kernel's error (EINVAL for flags it does not
    /// know; EPERM, ENOSYS, ENOMEM where io_uring is unavailable); the ring can then be set up
    /// again with other flags.
    func setUp(entries: UInt32, completionEntries: UInt32, flags: UInt32) throws(SocketError.Errno) {
        precondition(!isSetUp, "a ring is set up once")
        ring.pointee = io_uring()
        var params = io_uring_params()
        params.flags = flags | UInt32(IORING_SETUP_CQSIZE)
        params.cq_entries = completionEntries
        let rc = io_uring_queue_init_params(entries, ring, &params)
        guard rc == 0 else { throw SocketError.Errno(rawValue: -rc) }
        isSetUp = true
        self.flags = params.flags
        features = params.features
    }

    deinit {
        assert(closed || !isSetUp, "a Ring must be closed by its owner before it goes")
        batch.deallocate()
        ring.deallocate()
    }

    /// Releases the ring (io_uring_queue_exit). The owner calls it once, last.
    func close() {
        guard isSetUp, !closed else { return }
        closed = true
        io_uring_queue_exit(ring)
    }

    /// The raw ring, for registrations (provided buffers).
    var raw: UnsafeMutablePointer<io_uring> { ring }

    /// Prepares `request` with `userData` in the next free SQE; returns false, with nothing
    /// prepared, when the SQ is full and the kernel cannot take what is in it yet (its completion
    /// queue is full: EBUSY or EAGAIN): the caller makes room by reaping, then calls again.
    /// When the SQ is full, what is prepared is submitted first. Throws the errno of a submit
    /// that failed otherwise (EINTR is retried): the SQ would stay full, and a loop that only
    /// retried would spin for ever.
    func prepare(_ request: Request, userData: UInt64) throws(SocketError.Errno) -> Bool {
        var sqe = io_uring_get_sqe(ring)
        while sqe == nil {
            let rc = io_uring_submit(ring)
            if rc == -EBUSY || rc == -EAGAIN {
                return false
            } else if rc < 0 && rc != -EINTR {
                throw SocketError.Errno(rawValue: -rc)
            }
            sqe = io_uring_get_sqe(ring)
        }
        let s = sqe!
        switch request {
        case .recv(let fd, let buffer, let length, let flags, let group):
            io_uring_prep_recv(s, fd, buffer, length, flags)
            if let group { esock_sqe_set_buf_group(s, group) }
        case .recvMultishot(let fd, let flags, let group, let bundle):
            io_uring_prep_recv_multishot(s, fd, nil, 0, flags)
            esock_sqe_set_buf_group(s, group)
            if bundle { esock_sqe_set_bundle(s) }
        case .recvmsg(let fd, let header, let flags):
            io_uring_prep_recvmsg(s, fd, header, UInt32(bitPattern: flags))
        case .send(let fd, let buffer, let length, let flags):
            io_uring_prep_send(s, fd, buffer, length, flags)
        case .sendmsg(let fd, let header, let flags):
            io_uring_prep_sendmsg(s, fd, header, UInt32(bitPattern: flags))
        case .accept(let fd, let flags):
            io_uring_prep_accept(s, fd, nil, nil, flags)
        case .acceptMultishot(let fd, let flags):
            io_uring_prep_multishot_accept(s, fd, nil, nil, flags)
        case .poll(let fd, let mask):
            io_uring_prep_poll_add(s, fd, mask)
        case .read(let fd, let buffer, let length):
            io_uring_prep_read(s, fd, buffer, UInt32(length), 0)
        case .cancel(let target):
            io_uring_prep_cancel64(s, target, 0)
        }
        io_uring_sqe_set_data64(s, userData)
        return true
    }

    /// Submits every prepared SQE and, with `wait`, waits for a completion or until `timeout`
    /// (nil: no limit). With `IORING_SETUP_DEFER_TASKRUN` this is also where the kernel's work
    /// for finished requests runs, so it always asks for events. Retries until every SQE is
    /// submitted; EINTR and ETIME end a wait early and are not errors. EBUSY/EAGAIN (the kernel
    /// cannot take more until completions are reaped) return false: reap, then call again.
    func submit(wait: Bool, timeout: Duration?) throws(SocketError.Errno) -> Bool {
        while true {
            let rc: Int32
            if !wait {
                rc = io_uring_submit_and_get_events(ring)
            } else if let timeout {
                let (s, a) = max(timeout, .zero).components
                var ts = __kernel_timespec(tv_sec: s, tv_nsec: a / 1_000_000_000)
                var cqe: UnsafeMutablePointer<io_uring_cqe>?
                rc = io_uring_submit_and_wait_timeout(ring, &cqe, 1, &ts, nil)
            } else {
                rc = io_uring_submit_and_wait(ring, 1)
            }
            if rc >= 0 || rc == -ETIME || rc == -EINTR {
                // Anything still prepared (a short submit) goes in with the next call.
                if io_uring_sq_ready(ring) == 0 || !wait { return true }
                continue
            }
            if rc == -EBUSY || rc == -EAGAIN { return false }
            throw SocketError.Errno(rawValue: -rc)
        }
    }

    /// One completion: the request's user data, its result and the CQE flags.
    struct Completion {
        var userData: UInt64
        var result: Int32
        var flags: UInt32
    }

    /// Moves up to `limit` ready completions into `out`, oldest first, and marks them seen (so
    /// the kernel can post more while they are handled); returns how many.
    @discardableResult
    func reap(into out: inout [Completion], limit: Int = Int.max) -> Int {
        var total = 0
        while total < limit {
            let n = Int(io_uring_peek_batch_cqe(ring, batch, UInt32(min(Self.batchSize, limit - total))))
            if n == 0 { break }
            for i in 0..<n {
                let c = batch[i]!.pointee
                out.append(Completion(userData: c.user_data, result: c.res, flags: c.flags))
            }
            io_uring_cq_advance(ring, UInt32(n))
            total += n
            if n < Self.batchSize { break }
        }
        return total
    }

    /// Completions ready to reap.
    var ready: UInt32 { io_uring_cq_ready(ring) }
}
