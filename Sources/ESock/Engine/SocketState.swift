/// A socket's state machine: its queues of operations, their phases, what it knows of the
/// kernel's buffers, and its counters. Guarded by the socket's lock (``Socket/state``).
///
/// Its transitions (`SocketState+Transitions.swift`) are `mutating` functions that make the
/// socket's non-blocking kernel calls (each bounded, see ``SocketState/syscallBudget``), change
/// the state, and return what must happen afterwards as ``Effects``; the socket performs those
/// once the lock is released. Where the two I/O models differ, the transitions ask the backend's
/// ``IOModelRules``.
// @unchecked Sendable: a socket's state is only ever reached inside its lock (`Socket.state`);
// the operations and queues it holds are guarded by the same lock.
struct SocketState: @unchecked Sendable {
    /// The socket's key in its backend's socket table (see ``SocketTable/add(_:backend:)``): the
    /// select backend gives it epoll as the event's data, and both backends remove the socket
    /// from their table by it; 0 until the backend attached it.
    var eventKey: UInt64 = 0
    /// The descriptor. Used only while `closed` is false, under the lock (close(2) happens after
    /// `closed` is set), so it never names a reused number.
    let fd: Int32
    let type: SocketType
    // Stored properties are declared so that the one-byte flags sit together (after `type`,
    // and after `counters`) instead of each taking a word of padding (464 -> 424 B per socket).
    var closed = false
    /// A non-blocking connect returned EINPROGRESS and was not finalized yet.
    var connectInProgress = false
    var isListening = false
    /// Set by shutdown(read) / shutdown(write).
    var readShut = false
    var writeShut = false
    /// Erlang's `{otp, iow}`: when set, a counter that wraps sends `counter_wrap` to the owner.
    var iow = false
    /// Erlang's `{otp, debug}`: when set, operations are traced.
    var debug = false
    /// False when the last receive on this stream drained the kernel's receive queue (it failed
    /// with EAGAIN, or returned less than it asked for) and no data is known to have come since.
    /// A receive that may wait then skips the direct attempt, which could only fail: on the
    /// select backend it waits for the readiness event (which sets this again), on the
    /// completion backend it goes to the ring at once. A call that may not wait (a zero
    /// timeout) always makes its kernel call (OTP-19063). Set again when the completion
    /// backend's multishot receiver ends for want of buffers after emptying half the ring or
    /// more by itself (`CompletionRules.emptiedRing`): the kernel stopped reading, not the data
    /// coming.
    var mayRead = true
    /// Select backend: urgent (out-of-band) data was signalled on this socket. A read can stop
    /// short at the urgent mark with data behind it, so a short read no longer means drained.
    var urgentSeen = false
    /// Select backend: the peer closed or the socket failed (`EPOLLRDHUP`, `EPOLLHUP`,
    /// `EPOLLERR`). The end of the stream, or the error, shows only to a read after the data, and
    /// its edge may have come with the last data: a short read no longer means "wait".
    var hangupSeen = false
    /// Select backend: the socket is registered with epoll (done when an operation first waits,
    /// so that readiness from before, such as an unconnected socket's hang-up, never counts).
    var watched = false
    var counters = SocketCounters()
    /// The receiver was asked to stop (too much read ahead, or a receive it cannot serve).
    var receiverStopping = false
    /// The acceptor was asked to stop (enough connections accepted ahead).
    var acceptorStopping = false
    /// Completion backend: how many of the stream's last receivers in a row ran dry soon (ended
    /// for want of provided buffers after a few pieces: `CompletionRules.runsDrySoon`).
    var receiverDryRunsInARow: UInt8 = 0
    /// Completion backend: how many more of this stream's receives through the ring go without
    /// a receiver (0: none; they wait on the socket's receiver). Set when two receivers in a row
    /// ran dry soon: the receives then read directly while data is there and wait with an SQE
    /// of their own, rather than arming receiver after receiver that runs dry; back to 0 when
    /// such a receive gets little (see `CompletionRules.receivesAfterRunningDry`).
    var receivesWithoutReceiver: UInt8 = 0
    /// What the socket's I/O model decides.
    let rules: any IOModelRules
    /// The current operation of each of the four queues, by ``OperationQueue``'s raw value
    /// (read and set through `self[current: queue]`; an inline array, whose elements are
    /// reached by address).
    var currents = InlineArray<4, Operation?>(repeating: nil)
    /// Bytes the current writer sent of its package so far (OTP's `writePkgMaxCnt`): a package
    /// is counted in `write_pkg` when all of it went.
    var writePackageSent = 0
    /// Erlang's `{otp, rcvbuf}`: the most a recv called with length 0, or a recvfrom or recvmsg
    /// called with buffer size 0, reads in one read; and (the N of `{N, Size}`) how many full
    /// reads in a row a stream recv of length 0 may gather before it returns (at most
    /// ``syscallBudget`` in one attempt). ESock's default is 64 KiB (OTP's is 8 KiB): the
    /// largest datagram, and what a stream read took before the option existed.
    var recvBufferSize: Int {
        // Among the rare fields (mostly left at its default): a socket then fits a 368-byte
        // malloc chunk, not 384.
        get { rare?.values.recvBufferSize ?? SocketState.defaultRecvBufferSize }
        set { madeRare().values.recvBufferSize = newValue }
    }
    var recvBufferCount: Int {
        get { rare?.values.recvBufferCount ?? 1 }
        set { madeRare().values.recvBufferCount = newValue }
    }
    static let defaultRecvBufferSize = 65536
    /// Erlang's `{otp, rcvctrlbuf}`: the control buffer size of a recvmsg called with CtrlSz 0.
    var recvControlBufferSize: Int {
        get { rare?.values.recvControlBufferSize ?? SocketState.defaultControlBufferSize }
        set { madeRare().values.recvControlBufferSize = newValue }
    }
    /// Erlang's `{otp, sndctrlbuf}`: the largest control buffer a sendmsg may encode.
    var sendControlBufferSize: Int {
        get { rare?.values.sendControlBufferSize ?? SocketState.defaultControlBufferSize }
        set { madeRare().values.sendControlBufferSize = newValue }
    }
    static let defaultControlBufferSize = 1024
    /// Erlang's `{otp, meta}`: a value kept for the user.
    var meta: OptionValue {
        get { rare?.values.meta?.value ?? .undefined }
        set { madeRare().values.meta = newValue == .undefined ? nil : MetaValue(newValue) }
    }
    /// Data a cancelled recv received after all (the cancel lost the race in the kernel); the
    /// next recv returns it first, so nothing is lost.
    var readAhead = ReadAhead()
    /// Messages a cancelled recvfrom or recvmsg received after all; the next receive of any
    /// kind returns them first.
    var messagesAhead: [Msg] {
        get { rare?.values.messagesAhead ?? [] }
        // In place (a get and a set would copy the array on every change).
        _modify { yield &madeRare().values.messagesAhead }
    }
    /// Whether `messagesAhead` holds any (without a copy of the array: every receive asks).
    var hasMessagesAhead: Bool {
        guard let rare else { return false }
        return !rare.values.messagesAhead.isEmpty
    }
    /// The waiting lines of the four queues (`self[waiting: queue]` reads and changes them).
    /// A read of an empty line makes no rare fields.
    func waitingLine(_ queue: OperationQueue) -> [Operation] {
        guard let rare else { return [] }
        return rare.values.waiting[queue.rawValue]
    }
    /// The four waiting lines, to change in place (``OperationQueue``'s `self[waiting: queue]`):
    /// a change makes the rare fields.
    var rareWaiting: InlineArray<4, [Operation]> {
        get { rare?.values.waiting ?? InlineArray(repeating: []) }
        // In place (a get and a set would copy the lines on every change).
        _modify { yield &madeRare().values.waiting }
    }
    /// Connections a cancelled accept accepted after all.
    var acceptedAhead: [Int32] {
        get { rare?.values.acceptedAhead ?? [] }
        // In place (a get and a set would copy the array on every change).
        _modify { yield &madeRare().values.acceptedAhead }
    }
    /// Completion backend: the multishot receive armed on this stream (one SQE that posts a CQE
    /// for each piece of data that arrives), if any. While it is armed, nothing else reads the
    /// socket (a direct read could overtake data in CQEs not handled yet): receives are fed from
    /// its CQEs and from `readAhead`.
    var receiver: Operation?
    /// An error the receiver met when no receive was waiting: the next receive gets it.
    var readError: SocketError? {
        get {
            guard let rare else { return nil }
            return rare.values.readError
        }
        set { madeRare().values.readError = newValue }
    }
    /// Completion backend: the multishot accept armed on this listener (one SQE that posts a
    /// CQE per connection), if any: its connections go to the waiting accept or to
    /// `acceptedAhead`.
    var acceptor: Operation? {
        get { rare?.values.acceptor }
        set { madeRare().values.acceptor = newValue }
    }
    /// Completion backend: operations handed to the kernel whose last CQE has not arrived.
    var inflight = 0
    /// Set by close while operations are in flight; set when the last of them completes.
    var drained: Latch? {
        get { rare?.values.drained }
        set { madeRare().values.drained = newValue }
    }
    /// What few sockets use (options set from their defaults, what a cancel left behind, a
    /// listener's acceptor, a close's wait, callers queued behind another's operation), made on
    /// first use: 96 bytes less on every socket
    /// than inline (`SocketError?` alone takes 33).
    private var rare: CopyOnWriteBox<RareState>?

    /// Whether the rare fields were made (tests: reading them, or emptying what is empty, makes
    /// none).
    var hasRareFields: Bool { rare != nil }

    /// The rare fields, to change: made on first use, and copied first if a copy of this state
    /// shares them (the state lives in its socket's lock and is not copied, but stays a value).
    private mutating func madeRare() -> CopyOnWriteBox<RareState> {
        CopyOnWriteBox.unique(&rare, default: RareState())
    }

    /// The most kernel calls one attempt makes before it lets others go first (SwiftNIO bounds
    /// its writes with a spin count of 16): a stream send, sendfile or a gathering receive that
    /// could go on continues later, so one busy socket does not stall the thread that serves
    /// many.
    static let syscallBudget = 16

    init(fd: Int32, type: SocketType, rules: any IOModelRules) {
        self.fd = fd
        self.type = type
        self.rules = rules
    }

}

/// What an attempt at an operation's kernel calls came to.
enum Attempt {
    /// Finished, with its value.
    case done(OperationValue)
    /// Must wait; `partial` is what moved already. `ready` is true when the attempt stopped with
    /// the socket still ready (its syscall budget ran out): it continues at once, later.
    case wait(partial: OperationValue?, ready: Bool)
    /// Failed. Indirect, as the other rare large payloads of the engine's values (an attempt is
    /// 10 bytes; `CompactStateTests`).
    indirect case failed(SocketError)

    /// Must wait for the kernel, nothing moved.
    static var blocked: Attempt { .wait(partial: nil, ready: false) }

    /// A short account for `{otp, debug}` traces (not the data).
    var summary: String {
        switch self {
        case .done: return "done"
        case .wait(let partial, let ready):
            return (partial == nil ? "wait" : "wait, part moved") + (ready ? ", budget spent" : "")
        case .failed(let error): return "failed: \(error)"
        }
    }
}

/// The value an operation finishes with.
enum OperationValue: Sendable {
    /// accept: a connection's descriptor, wrapped into a ``Socket`` once the lock is released.
    case accepted(Int32)
    case socket(Socket)
    case none
    case bytes([UInt8])
    case count(Int)
    /// recvfrom, recvmsg: the message received (recvfrom uses its address and data). Indirect:
    /// the value is 9 bytes, not 44, for every other operation.
    indirect case message(Msg)
    /// sendmsg: the part of the I/O vector not sent yet.
    case iov([[UInt8]])
}

extension Pending<OperationValue> {
    /// The answer a public call gives: the operation's value, and its partial value, as `convert`
    /// turns them into the call's type.
    func map<T: Sendable>(_ convert: (OperationValue) -> T) -> Pending<T> {
        switch self {
        case .done(let value): return .done(convert(value))
        case .select(let info, let partial): return .select(info, partial: partial.map(convert))
        case .completion(let info): return .completion(info)
        }
    }
}

extension OperationValue {
    /// The bytes of a recv or send value; empty for any other value.
    var bytes: [UInt8] {
        if case .bytes(let b) = self { return b }
        return []
    }

    /// The I/O vector of a sendmsg value; empty for any other value.
    var iov: [[UInt8]] {
        if case .iov(let v) = self { return v }
        return []
    }

    /// The message of a recvfrom or recvmsg value; an empty one for any other value.
    var message: Msg {
        if case .message(let m) = self { return m }
        return Msg(iov: [])
    }
}

/// The fields of a ``SocketState`` few sockets use, out of line in a `CopyOnWriteBox` (see
/// `SocketState.rare`). Guarded by the socket's lock, as the state is.
struct RareState {
    var recvBufferCount = 1
    var recvBufferSize = SocketState.defaultRecvBufferSize
    var recvControlBufferSize = SocketState.defaultControlBufferSize
    var sendControlBufferSize = SocketState.defaultControlBufferSize
    var messagesAhead: [Msg] = []
    var acceptedAhead: [Int32] = []
    /// The operations queued behind each queue's current one (``SocketState/waitingLine(_:)``).
    var waiting = InlineArray<4, [Operation]>(repeating: [])
    var acceptor: Operation?
    var drained: Latch?
    var readError: SocketError?
    /// Out of line again: an `OptionValue` takes 177 bytes, which every socket that sets any
    /// rare field (a receiver's error, a close's latch) would carry.
    var meta: MetaValue?
}

/// A socket's `{otp, meta}` value, kept out of line (see ``SocketState/meta``).
final class MetaValue: Sendable {
    let value: OptionValue
    init(_ value: OptionValue) { self.value = value }
}
