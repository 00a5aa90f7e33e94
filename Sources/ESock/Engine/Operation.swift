#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// One asynchronous operation on a socket, from the call that starts it to its last message.
///
/// Every mutable field is guarded by the owning socket's state lock, except those the completion
/// backend's ring owner keeps for itself (``submitted``, ``inKernel``, ``cancelledEarly``,
/// ``kernelSlot``): the lock, not the runtime's dynamic exclusivity check, keeps accesses apart
/// (`@exclusivity(unchecked)`: the check cost a tenth of the instructions per message,
/// docs/architecture.md). On the completion backend an armed operation is also held by the ring
/// owner's table of what the kernel holds (``KernelHolds``; its slot is the SQE's user data)
/// until its last CQE is harvested, so the buffers it owns live until the kernel's last
/// completion for them.
// @unchecked Sendable: mutable fields are touched only with the owning socket's state lock held
// (or, for the two ring fields, only on the ring owner's thread); the kernel's reference reads
// only buffers that no thread writes meanwhile.
final class Operation: @unchecked Sendable {
    enum Kind { case accept, connect, recv, send, sendfile }

    /// Where the operation is in its life. Changed only through ``enter(_:)``.
    enum Phase {
        /// Behind another caller's operation of the same kind, or not started yet.
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

    // Declared so that the one-byte fields sit together and fill what would be padding, with
    // what few operations use (sendfile's file, connect's address, a cancel's latch) out of line
    // in ``Extras``, the buffers without optionals' tag bytes and in one word for the three, and
    // a receive's and a send's fields sharing their words, as the message calls' header and
    // the extras share theirs: an operation takes 112 B with malloc's rounding (264 B at
    // first, 240 before the extras went out of line, 176 before the sharing, 144 before the
    // buffers' word, 128 before the length and the header shared words), and a completion
    // socket holds two while it waits: its multishot receive and the caller's receive. What
    // each field is for is in its comment: recv, send, sendfile, connect, the message calls,
    // or the ring owner's own.
    let kind: Kind
    let tag: OperationTag
    @exclusivity(unchecked) private(set) var phase: Phase = .queued
    /// Set by cancel (inside the socket's lock) before it flushes the mailbox; a message about
    /// the operation whose post comes later is dropped (read under the mailbox's lock).
    let withdrawn = Atomic<Bool>(false)
    /// Completion backend: the socket's multishot receive or accept (``SocketState/receiver``,
    /// ``SocketState/acceptor``), not a caller's operation.
    @exclusivity(unchecked) var isReceiver = false
    /// Completion backend: a receive or accept that waits for the socket's multishot receive or
    /// accept (its data or connection, or its end) rather than for an SQE of its own; cancelled
    /// without the kernel.
    @exclusivity(unchecked) var awaitsReceiver = false
    /// Set when the canceller takes what the operation moved itself (a blocking call that timed
    /// out reports it as partial data); otherwise a cancelled recv's data goes to the read-ahead.
    @exclusivity(unchecked) var cancellerTakesData = false
    /// The ring owner's own (touched on its thread only): the operation's SQE went to the kernel
    /// at least once.
    @exclusivity(unchecked) var submitted = false
    let handle: Handle
    let caller: Caller
    let socket: Socket
    /// recv, send and the message calls: the `MSG_` flags.
    @exclusivity(unchecked) var flags: Int32 = 0
    /// The ring owner's own: the kernel holds the operation now (its last CQE has not been
    /// handled).
    @exclusivity(unchecked) var inKernel = false
    /// The ring owner's own: a cancel reached the ring owner before the operation's SQE did: the
    /// SQE is not submitted and the operation completes as cancelled.
    @exclusivity(unchecked) var cancelledEarly = false
    /// Which of the three buffers is set (see `buffer`, `target`, `outgoing`; at most one).
    @exclusivity(unchecked) private var buffersSet = BuffersSet()
    /// Whether `side` holds a message call's ``MessageIO`` (set when the operation is made,
    /// never changed: the ring owner reads it, and `message`, without the socket's lock).
    let isMessageCall: Bool
    /// Completion backend, a receive: what the operation received so far (a stream recv of
    /// `length` bytes may take several kernel completions).
    var received: [UInt8] {
        _read { yield bytes }
        _modify { yield &bytes }
    }
    /// `received` of a receive; of a send of an array, the caller's array itself, which
    /// `outgoing` points into (``keepOutgoing(_:from:)``): one word for the two.
    @exclusivity(unchecked) private var bytes: [UInt8] = []
    /// Completion backend: the bytes the armed recv SQE asked for (at most `Int32.max`: the
    /// SQE's length is 32 bits).
    var armedLength: Int {
        get { Int(armed) }
        set { armed = Int32(clamping: newValue) }
    }
    @exclusivity(unchecked) private var armed: Int32 = 0
    /// Completion backend, a socket's multishot receiver (which asks for no length: its
    /// `armedLength` word): the low 32 bits of the socket's count of reads when it was armed, to
    /// tell at its end how many pieces of data it brought.
    var readsWhenArmed: UInt32 {
        get { UInt32(bitPattern: armed) }
        set { armed = Int32(bitPattern: newValue) }
    }
    /// Completion backend, a socket's multishot receiver (which has no length: its `length`
    /// word): the socket's count of bytes read when it was armed, to tell at its end how much
    /// data it brought.
    var bytesWhenArmed: UInt64 {
        get { UInt64(UInt(bitPattern: moved)) }
        set { moved = Int(bitPattern: UInt(truncatingIfNeeded: newValue)) }
    }
    /// The ring owner's own: the operation's place in the owner's table of what the kernel
    /// holds while its SQE is in the kernel (-1 when it is not); it names the SQE.
    @exclusivity(unchecked) var kernelSlot: Int32 = -1
    /// A receive of a length (no `target`): bytes asked for; 0 means whatever is available.
    var length: Int {
        get {
            assert(kind == .recv && !buffersSet.contains(.target), "length of a \(kind) \(buffersSet)")
            return moved
        }
        set { moved = newValue }
    }
    /// recv(into:): bytes written into `target` by a completion the cancel did not stop.
    var receivedCount: Int {
        get { moved }
        set { moved = newValue }
    }
    /// send: bytes of `outgoing` the kernel took.
    var outgoingSent: Int {
        get { moved }
        set { moved = newValue }
    }
    /// `length` of a receive of a length, `receivedCount` of a receive into the caller's
    /// memory, `outgoingSent` of a send, `bytesWhenArmed` of a multishot receiver: one word for
    /// the four, since an operation is one of them (the receive's paths look at `target` before
    /// `length`; a receiver is never a caller's receive).
    @exclusivity(unchecked) private var moved = 0
    /// A message call's ``MessageIO`` (`isMessageCall`, set when the operation is made) or,
    /// for the others, the ``Extras`` (made on first use, under the socket's lock): one word
    /// for the two, which no operation has both of. A message call's cancel keeps its latch in
    /// its `MessageIO`, so this word never changes on an operation whose `message` is read;
    /// `message` of any other operation reads only the constant `isMessageCall` (the ring owner
    /// reads it outside the lock while a cancel may make the extras).
    @exclusivity(unchecked) private var side: AnyObject?
    /// `buffer` of a receive of a length, `target` of a receive into the caller's memory,
    /// `outgoing` of a send: an operation has at most one of the three.
    @exclusivity(unchecked) private var memoryStorage = UnsafeMutableRawBufferPointer(start: nil, count: 0)

    /// Completion backend, recv of a length: the kernel writes here (at most
    /// ``Operation/receiveChunk`` bytes: memory for what can arrive, not for what was asked).
    var buffer: UnsafeMutableRawBufferPointer? {
        get { buffersSet.contains(.buffer) ? memoryStorage : nil }
        set { setMemory(newValue, as: .buffer) }
    }
    /// recv(into:): the caller's memory, written by the kernel (the caller waits until the
    /// operation's last completion, so the memory outlives the kernel's use of it).
    var target: UnsafeMutableRawBufferPointer? {
        get { buffersSet.contains(.target) ? memoryStorage : nil }
        set { setMemory(newValue, as: .target) }
    }
    /// The data still to send, never the operation's own allocation: the storage of the array
    /// the operation keeps (``keepOutgoing(_:from:)``), or the caller's memory when the caller
    /// waits until the last completion (``borrowOutgoing(_:)``).
    var outgoing: UnsafeMutableRawBufferPointer? {
        get { buffersSet.contains(.outgoing) ? memoryStorage : nil }
        set { setMemory(newValue, as: .outgoing) }
    }

    /// recvfrom, recvmsg, sendto, sendmsg: the msghdr and everything it points at (given when
    /// the operation is made).
    var message: MessageIO? {
        isMessageCall ? unsafeDowncast(side.unsafelyUnwrapped, to: MessageIO.self) : nil
    }

    /// The extras, if they were made.
    private var extras: Extras? {
        guard !isMessageCall, let side else { return nil }
        return unsafeDowncast(side, to: Extras.self)
    }

    /// Sets (or clears) the operation's one word of memory as `which`; it holds no other.
    private func setMemory(_ value: UnsafeMutableRawBufferPointer?, as which: BuffersSet) {
        assert(buffersSet.isSubset(of: which), "\(which) memory on an operation with other memory")
        memoryStorage = buffersSet.store(value, which)
    }

    /// sendfile: the file.
    var fileDescriptor: Int32 {
        get { extras?.fileDescriptor ?? -1 }
        set { madeExtras().fileDescriptor = newValue }
    }
    /// sendfile: where in the file the next byte comes from.
    var fileOffset: Int64 {
        get { extras?.fileOffset ?? 0 }
        set { madeExtras().fileOffset = newValue }
    }
    /// sendfile: bytes sent.
    var fileSent: Int {
        get { extras?.fileSent ?? 0 }
        set { madeExtras().fileSent = newValue }
    }
    /// sendfile: bytes left to send; nil means up to the end of the file.
    var fileRemaining: Int? {
        get { extras?.fileRemaining }
        set { madeExtras().fileRemaining = newValue }
    }
    /// connect: the address (owned by the operation), and its length (`addressLength`).
    var address: UnsafeMutablePointer<sockaddr_storage>? {
        get { extras?.address }
        set { madeExtras().address = newValue }
    }
    /// connect: the length of `address`.
    var addressLength: socklen_t {
        get { extras?.addressLength ?? 0 }
        set { madeExtras().addressLength = newValue }
    }
    /// A thread waiting in cancel for the kernel's last CQE of this operation (a message
    /// call's is kept in its ``MessageIO``).
    var cancelLatch: Latch? {
        get { message?.cancelLatch ?? extras?.cancelLatch }
        set {
            if let message { message.cancelLatch = newValue } else { madeExtras().cancelLatch = newValue }
        }
    }

    /// The fields few operations use, out of line so that every receive does not carry them.
    /// Guarded as the operation's own fields are.
    private final class Extras {
        var fileDescriptor: Int32 = -1
        var addressLength: socklen_t = 0
        var fileOffset: Int64 = 0
        var fileSent = 0
        var fileRemaining: Int?
        var address: UnsafeMutablePointer<sockaddr_storage>?
        var cancelLatch: Latch?

        deinit { address?.deallocate() }
    }

    private func madeExtras() -> Extras {
        if let extras { return extras }
        assert(!isMessageCall, "extras on a message call's operation")
        let made = Extras()
        side = made
        return made
    }

    /// Which of an operation's optional buffers hold a value: one byte for the three, in place
    /// of each optional's own tag byte and its padding.
    private struct BuffersSet: OptionSet {
        let rawValue: UInt8
        static let buffer = BuffersSet(rawValue: 1)
        static let target = BuffersSet(rawValue: 2)
        static let outgoing = BuffersSet(rawValue: 4)

        /// Records whether `value` is set for `which`; returns what to store (empty for nil).
        mutating func store(_ value: UnsafeMutableRawBufferPointer?, _ which: BuffersSet) -> UnsafeMutableRawBufferPointer {
            if let value {
                insert(which)
                return value
            }
            remove(which)
            return UnsafeMutableRawBufferPointer(start: nil, count: 0)
        }
    }

    /// The most a completion-backend recv of a length asks the kernel for at once; the rest is
    /// asked for when that part came.
    static let receiveChunk = 256 * 1024

    /// An operation of `kind` for `caller`; a message call's (recvfrom, recvmsg, sendto,
    /// sendmsg) with its `message`.
    init(_ kind: Kind, tag: OperationTag, handle: Handle, caller: Caller, socket: Socket, message: MessageIO? = nil) {
        self.kind = kind
        self.tag = tag
        self.handle = handle
        self.caller = caller
        self.socket = socket
        isMessageCall = message != nil
        side = message
    }

    deinit {
        assert(keptStorageUnmoved, "operation \(handle): the kept array's storage moved while the kernel could read it")
        buffer?.deallocate()
    }

    /// Moves the operation to `next`: the one place its phase changes, checked against the
    /// transitions its life allows.
    func enter(_ next: Phase) {
        switch (phase, next) {
        case (.queued, .waiting), (.queued, .notified),
             (.waiting, .notified), (.waiting, .cancelling), (.waiting, .aborted),
             (.notified, .waiting), (.cancelling, .aborted):
            phase = next
        default:
            assertionFailure("operation \(handle): no transition from \(phase) to \(next)")
            phase = next
        }
    }

    /// The bytes of `outgoing` not yet sent.
    var unsent: UnsafeRawBufferPointer {
        guard let outgoing else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(rebasing: outgoing[outgoingSent...])
    }

    /// Keeps the caller's array `data` as the data to send, from `offset` on, without a copy:
    /// the operation holds the array (a reference to its storage, which nothing writes while the
    /// operation lives: an array is copied on write, and this one is only read), and `outgoing`
    /// points into that storage, which stays where it is for as long as it is held. The kernel
    /// reads it until the operation's last completion, which the operation outlives.
    func keepOutgoing(_ data: [UInt8], from offset: Int) {
        assert(offset >= 0 && offset <= data.count, "offset \(offset) outside \(data.count) bytes")
        bytes = data
        let start = bytes.withUnsafeBytes { $0.baseAddress }
        outgoing = start.map { UnsafeMutableRawBufferPointer(start: UnsafeMutableRawPointer(mutating: $0 + offset),
                                                             count: data.count - offset) }
            ?? UnsafeMutableRawBufferPointer(start: nil, count: 0)
        outgoingSent = 0
    }

    /// Whether `outgoing` still points into the storage of the array ``keepOutgoing(_:from:)``
    /// kept (true when it kept none). Swift promises a pointer from `withUnsafeBytes` only inside
    /// the call; a native array's elements live in a heap object that is never moved, and only a
    /// write (copy on write, growth) gives an array new storage: this array is never written.
    /// Checked by an assertion when the operation ends (every test run, every backend).
    private var keptStorageUnmoved: Bool {
        guard kind == .send, !bytes.isEmpty, let outgoing else { return true }
        guard let base = bytes.withUnsafeBytes({ $0.baseAddress }) else { return outgoing.baseAddress == nil }
        return UnsafeRawPointer(outgoing.baseAddress) == base + (bytes.count - outgoing.count)
    }

    /// Points the operation at the caller's `bytes` to send, without a copy: only for a caller
    /// that waits until the operation's last completion (a blocking or async call).
    func borrowOutgoing(_ bytes: UnsafeRawBufferPointer) {
        outgoing = bytes.baseAddress.map { UnsafeMutableRawBufferPointer(start: UnsafeMutableRawPointer(mutating: $0), count: bytes.count) }
            ?? UnsafeMutableRawBufferPointer(start: nil, count: 0)
        outgoingSent = 0
    }

    /// A buffer of at least `count` bytes for the kernel to receive into.
    func receiveBuffer(_ count: Int) -> UnsafeMutableRawBufferPointer {
        if let buffer, buffer.count >= count { return buffer }
        buffer?.deallocate()
        let b = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 16)
        buffer = b
        return b
    }

    /// What the operation moved, for a cancel or an abort to report: data not sent, or file
    /// bytes sent. (Data received is kept for the next receive, or taken by the canceller.)
    var movedPartial: SocketError.Partial? {
        switch kind {
        case .send:
            if let message { return message.restPartial }
            return outgoing == nil ? nil : .rest(Array(unsent))
        case .sendfile:
            return .sent(fileSent)
        case .recv:
            return received.isEmpty ? nil : .received(received)
        case .accept, .connect:
            return nil
        }
    }

    /// The select info for this operation.
    var selectInfo: SelectInfo { SelectInfo(tag: tag, handle: handle) }
    /// The completion info for this operation.
    var completionInfo: CompletionInfo { CompletionInfo(tag: tag, handle: handle) }
}
