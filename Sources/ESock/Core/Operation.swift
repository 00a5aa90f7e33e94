#if canImport(Glibc)
import Glibc
#endif

/// One asynchronous operation on a socket, from the call that starts it to its last message.
///
/// Every mutable field is guarded by the owning socket's state lock: the lock, not the runtime's
/// dynamic exclusivity check, keeps accesses apart (`@exclusivity(unchecked)`: the check cost a
/// tenth of the instructions per message, docs/architecture.md). On the completion backend an armed
/// operation is also retained by the kernel's submission (its address is the SQE's user data) until
/// its CQE is harvested, so the buffers it owns live until the kernel's last completion for them.
// @unchecked Sendable: mutable fields are touched only with the owning socket's state lock held;
// the kernel's reference (the SQE's user data) reads only buffers that no thread writes meanwhile.
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
    @exclusivity(unchecked) var phase: Phase = .queued

    // recv
    /// Bytes asked for; 0 means whatever is available.
    @exclusivity(unchecked) var length = 0
    @exclusivity(unchecked) var flags: Int32 = 0
    /// Completion backend: what the operation received so far (a stream recv of `length` bytes
    /// may take several kernel completions).
    @exclusivity(unchecked) var received: [UInt8] = []
    /// Completion backend: the bytes the armed recv SQE asked for.
    @exclusivity(unchecked) var armedLength = 0

    // send
    /// The data still to send, owned by the operation while the kernel may read it.
    @exclusivity(unchecked) var outgoing: UnsafeMutableRawBufferPointer?
    @exclusivity(unchecked) var outgoingSent = 0

    // sendfile
    @exclusivity(unchecked) var fileDescriptor: Int32 = -1
    @exclusivity(unchecked) var fileOffset: Int64 = 0
    /// Bytes left to send; nil means up to the end of the file.
    @exclusivity(unchecked) var fileRemaining: Int?
    @exclusivity(unchecked) var fileSent = 0

    // connect
    @exclusivity(unchecked) var address: UnsafeMutablePointer<sockaddr_storage>?
    @exclusivity(unchecked) var addressLength: socklen_t = 0

    // recvfrom, recvmsg, sendto, sendmsg: the msghdr and everything it points at.
    @exclusivity(unchecked) var message: MessageIO?

    // recv (completion backend, length > 0): the kernel writes here.
    @exclusivity(unchecked) var buffer: UnsafeMutableRawBufferPointer?

    /// A thread waiting in cancel for the kernel's last CQE of this operation.
    @exclusivity(unchecked) var cancelLatch: Latch?
    /// Set when the canceller takes what the operation moved itself (a blocking call that timed
    /// out reports it as partial data); otherwise a cancelled recv's data goes to the read-ahead.
    @exclusivity(unchecked) var cancellerTakesData = false

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

/// A one-shot event a thread can wait for: set once, then every wait returns at once. A
/// waiting thread drives the backend's kernel wait when it can, since the event it waits for
/// (an operation's last CQE) may need someone to harvest it.
// @unchecked Sendable: `isSet` is read and written with the inherited mutex held.
final class Latch: BlockingWaiter, @unchecked Sendable {
    @exclusivity(unchecked) private var isSet = false

    init(expecting driver: (any PollDriver)?) {
        super.init()
        if let driver { self.driver = driver }
    }

    func set() {
        pthread_mutex_lock(mutex)
        isSet = true
        let (leading, leadingDriver) = (leader, driver)
        pthread_mutex_unlock(mutex)
        pthread_cond_broadcast(cond)
        kickLeader(leading, leadingDriver)
    }

    func wait() {
        pthread_mutex_lock(mutex)
        _ = block(until: nil) { isSet }
        pthread_mutex_unlock(mutex)
    }
}
