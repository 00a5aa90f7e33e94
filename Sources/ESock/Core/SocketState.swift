/// The operations of one basic type on a socket (accept, recv, send, connect): one current
/// operation and, behind it, the other callers' operations in arrival order, as in OTP. Guarded by
/// the socket's state lock: the lock, not the runtime's dynamic exclusivity check, keeps accesses
/// apart (`@exclusivity(unchecked)`: the check cost a tenth of the instructions per message,
/// docs/architecture.md).
final class OperationQueue {
    @exclusivity(unchecked) var current: Operation?
    @exclusivity(unchecked) var waiting: [Operation] = []

    /// Operations present, current and queued.
    var count: Int { (current == nil ? 0 : 1) + waiting.count }

    /// Every operation, current first.
    var all: [Operation] { (current.map { [$0] } ?? []) + waiting }
}

/// A socket's mutable state, guarded by the socket's lock.
struct SocketState {
    var closed = false
    let acceptors = OperationQueue()
    let readers = OperationQueue()
    let writers = OperationQueue()
    let connectors = OperationQueue()
    /// Select backend: a non-blocking connect returned EINPROGRESS and was not finalized yet.
    var connectInProgress = false
    var isListening = false
    /// Set by shutdown(read) / shutdown(write).
    var readShut = false
    var writeShut = false
    var counters = SocketCounters()
    /// Erlang's `{otp, rcvbuf}`: the most a recv called with length 0, or a recvfrom or recvmsg
    /// called with buffer size 0, reads in one read; and (the N of `{N, Size}`) how many full
    /// reads in a row a stream recv of length 0 may gather before it returns. ESock's default is
    /// 64 KiB (OTP's is 8 KiB): the largest datagram, and what a stream read took before the
    /// option existed.
    var recvBufferSize = SocketState.defaultRecvBufferSize
    var recvBufferCount = 1
    static let defaultRecvBufferSize = 65536
    /// Erlang's `{otp, rcvctrlbuf}`: the control buffer size of a recvmsg called with CtrlSz 0.
    var recvControlBufferSize = SocketState.defaultControlBufferSize
    /// Erlang's `{otp, sndctrlbuf}`: the largest control buffer a sendmsg may encode.
    var sendControlBufferSize = SocketState.defaultControlBufferSize
    static let defaultControlBufferSize = 1024
    /// Erlang's `{otp, iow}`: when set, a counter that wraps sends `counter_wrap` to the owner.
    var iow = false
    /// Erlang's `{otp, debug}`: when set, operations are traced to standard error.
    var debug = false
    /// Erlang's `{otp, meta}`: a value kept for the user.
    var meta: OptionValue = .undefined
    /// False when the last receive on this stream drained the kernel's receive queue (it failed
    /// with EAGAIN, or returned less than it asked for) and no data is known to have come since.
    /// A receive then skips the direct attempt, which could only fail: on the select backend it
    /// waits for the readiness event (which sets this again), on the completion backend it goes
    /// to the ring at once. Guarded like the rest of the state, so that a readiness event
    /// cannot slip in between an attempt and this flag.
    var mayRead = true
    /// Select backend: urgent (out-of-band) data was signalled on this socket. A read can stop
    /// short at the urgent mark with data behind it, so a short read no longer means drained.
    var urgentSeen = false
    /// Select backend: the peer closed or the socket failed (`EPOLLRDHUP`, `EPOLLHUP`,
    /// `EPOLLERR`). The end of the stream, or the error, shows only to a read after the data, and
    /// its edge may have come with the last data: a short read no longer means "wait".
    var hangupSeen = false
    /// Completion backend: data a cancelled recv received after all (the cancel lost the race);
    /// the next recv returns it first, so nothing is lost.
    var readAhead: [UInt8] = []
    /// Completion backend: messages a cancelled recvfrom or recvmsg received after all; the next
    /// receive of any kind returns them first.
    var messagesAhead: [Msg] = []
    /// Completion backend: connections a cancelled accept accepted after all.
    var acceptedAhead: [Int32] = []
    /// Completion backend: operations armed in the kernel whose last CQE has not arrived.
    var inflight = 0
    /// Completion backend: set by close while operations are in flight; the harvester sets it
    /// when the last of them completes.
    var drained: Latch?

    func queue(for kind: Operation.Kind) -> OperationQueue {
        switch kind {
        case .accept: return acceptors
        case .recv: return readers
        case .send, .sendfile: return writers
        case .connect: return connectors
        }
    }

    var allQueues: [OperationQueue] { [acceptors, readers, writers, connectors] }
}

/// What an operation's attempt at the kernel call came to.
enum Attempt {
    /// Finished, with its value.
    case done(OperationValue)
    /// Must wait; `partial` is what moved already, for the select answer.
    case wait(partial: OperationValue?)
    /// Failed.
    case failed(SocketError)

    /// A short account for `{otp, debug}` traces (not the data).
    var summary: String {
        switch self {
        case .done: return "done"
        case .wait(let partial): return partial == nil ? "wait" : "wait, part moved"
        case .failed(let error): return "failed: \(error)"
        }
    }
}

/// The value an operation finishes with.
enum OperationValue: Sendable {
    case socket(Socket)
    case none
    case bytes([UInt8])
    case count(Int)
    /// recvfrom, recvmsg: the message received (recvfrom uses its address and data).
    case message(Msg)
    /// sendmsg on the select backend: the part of the I/O vector not sent yet.
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
