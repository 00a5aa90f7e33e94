#if canImport(Glibc)
import Glibc
#endif

/// One asynchronous operation on a socket, from the call that starts it to its last message.
///
/// Every mutable field is guarded by the owning socket's state lock. On the completion backend an
/// armed operation is also retained by the kernel's submission (its address is the SQE's
/// user data) until its CQE is harvested, so the buffers it owns live until the kernel's last
/// completion for them.
final class Operation: @unchecked Sendable {
    enum Kind { case accept, connect, recv, send, sendfile }

    /// Where the operation is in its life.
    enum Phase {
        /// Behind another caller's operation of the same kind.
        case queued
        /// The current operation, waiting: for readiness (select) or in the kernel (completion).
        case waiting
        /// Select backend: the select message was sent; the caller is expected to call again.
        case notified
        /// Completion backend: cancel was asked for; the kernel's last CQE has not arrived yet.
        case cancelling
        /// Completion backend: the socket was closed; the kernel's last CQE has not arrived yet.
        case aborted
    }

    let kind: Kind
    let tag: OperationTag
    let handle: Handle
    let mailbox: Mailbox
    let socket: Socket
    var phase: Phase = .queued

    // recv
    /// Bytes asked for; 0 means whatever is available.
    var length = 0
    var flags: Int32 = 0
    /// Completion backend: what the operation received so far (a stream recv of `length` bytes
    /// may take several kernel completions).
    var received: [UInt8] = []

    // send
    /// The data still to send, owned by the operation while the kernel may read it.
    var outgoing: UnsafeMutableRawBufferPointer?
    var outgoingSent = 0

    // sendfile
    var fileDescriptor: Int32 = -1
    var fileOffset: Int64 = 0
    /// Bytes left to send; nil means up to the end of the file.
    var fileRemaining: Int?
    var fileSent = 0

    // connect
    var address: UnsafeMutablePointer<sockaddr_storage>?
    var addressLength: socklen_t = 0

    // recv (completion backend, length > 0): the kernel writes here.
    var buffer: UnsafeMutableRawBufferPointer?

    /// A thread waiting in cancel for the kernel's last CQE of this operation.
    var cancelLatch: Latch?
    /// Set when the canceller takes what the operation moved itself (a blocking call that timed
    /// out reports it as partial data); otherwise a cancelled recv's data goes to the read-ahead.
    var cancellerTakesData = false

    init(_ kind: Kind, tag: OperationTag, handle: Handle, mailbox: Mailbox, socket: Socket) {
        self.kind = kind
        self.tag = tag
        self.handle = handle
        self.mailbox = mailbox
        self.socket = socket
    }

    deinit {
        outgoing?.deallocate()
        buffer?.deallocate()
        address?.deallocate()
    }

    /// The bytes of `outgoing` not yet sent.
    var unsent: UnsafeRawBufferPointer {
        guard let outgoing else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(rebasing: outgoing[outgoingSent...])
    }

    /// Keeps a copy of `bytes` as the data to send.
    func setOutgoing(_ bytes: UnsafeRawBufferPointer) {
        outgoing?.deallocate()
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 16)
        if bytes.count > 0 { copy.copyMemory(from: bytes) }
        outgoing = UnsafeMutableRawBufferPointer(rebasing: copy[0..<bytes.count])
        outgoingSent = 0
    }

    /// The select info for this operation.
    var selectInfo: SelectInfo { SelectInfo(tag: tag, handle: handle) }
    /// The completion info for this operation.
    var completionInfo: CompletionInfo { CompletionInfo(tag: tag, handle: handle) }
}

/// A one-shot event a thread can wait for: set once, then every wait returns at once.
final class Latch: @unchecked Sendable {
    // Heap-allocated: pthread objects must not move, which a class's stored property may.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let cond: UnsafeMutablePointer<pthread_cond_t>
    private var isSet = false

    init() {
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        cond = .allocate(capacity: 1)
        pthread_cond_init(cond, nil)
    }

    deinit {
        pthread_cond_destroy(cond)
        cond.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func set() {
        pthread_mutex_lock(mutex)
        isSet = true
        pthread_cond_broadcast(cond)
        pthread_mutex_unlock(mutex)
    }

    func wait() {
        pthread_mutex_lock(mutex)
        while !isSet { pthread_cond_wait(cond, mutex) }
        pthread_mutex_unlock(mutex)
    }
}
