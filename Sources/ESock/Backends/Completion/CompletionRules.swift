/// The completion model's rules (OTP's Windows `esaio`, here on io_uring): an operation that
/// cannot finish at once is handed to the kernel, which finishes it; a completion message carries
/// the result. The operation keeps the data it has yet to send and what it received so far, and
/// lives until the kernel's last completion for it, so cancel and close go through the kernel.
///
/// A stream's receives of plain data wait on one multishot receive per socket (the socket's
/// *receiver*, armed by the first receive that waits and kept while data keeps coming): one SQE
/// for many messages, each CQE feeding the waiting receive or the read-ahead. A listener's
/// accepts wait the same way on one multishot accept (its *acceptor*).
///
/// One instance per backend, a class: every socket's state holds it as its `any IOModelRules`,
/// and the ring owner passes it with each completion. As a struct of two references it was
/// copied and destroyed through its value witnesses at each of those (perf of the completion
/// nowait echo server: 0.7% of its time in the witnesses' retains and releases).
final class CompletionRules: IOModelRules, Sendable {
    /// The backend's gate: it knows the ring owner's thread.
    let gate: PollGate
    /// What the ring offers (multishot receives).
    let features: RingFeatures
    /// Whether sends on the ring owner's thread go through the ring (the configuration).
    let ringSends: Bool

    init(gate: PollGate, features: RingFeatures, ringSends: Bool) {
        self.gate = gate
        self.features = features
        self.ringSends = ringSends
    }

    var model: IOModel { .completion }
    var callsAgain: Bool { false }
    var operationsKeepData: Bool { true }
    /// With ``CompletionBackend/Configuration/sendsThroughRing`` (the default), every send made
    /// on the ring owner's thread (nowait, blocking or an async call's) is an SQE of the next
    /// batch, not a send(2) of its own: the sends of a batch then go into the kernel together
    /// in the owner's next `io_uring_enter`, and the kernel time this saves against a send(2)
    /// each between the owner's other work is more than the operation, SQE, CQE and message
    /// (or the async call's suspension until the CQE) cost in user space. Nowait server: echo
    /// 64 x 64 B 1.07x, 512 x 64 B 1.05x, the idle wave at 10,000 connections 1.00x; async
    /// server 1.16x, 1.14x and 1.04x (docs/architecture.md, "Twenty-first session"; both were
    /// measured the other way round before, the nowait server's on 2026-12-05, "Seventeenth
    /// session", the async server's on 2026-12-03, "Eighth session"). Off the owner's thread a
    /// send is tried directly first: handing it over would cost a wake-up.
    ///
    /// Without it, a send is tried with send(2) first on the owner's thread too, except a
    /// nowait or blocking send of at least ``ringSendBytes``: a large send on a busy stream is
    /// mostly taken in part, and send(2) first then made two kernel calls of each send, the
    /// second after the socket's buffer filled (64 KiB sends to four connections: 0.68x of C
    /// io_uring's throughput at 28.7 µs of the server's CPU per send, against 0.97x at 20.9
    /// through the ring; "Twentieth session").
    func sendsThroughKernel(for caller: Caller, bytes: Int) -> Bool {
        guard gate.isBackgroundThread else { return false }
        if ringSends { return true }
        if case .asyncCall = caller { return false }
        return bytes >= Self.ringSendBytes
    }

    /// The smallest send that goes through the ring on the owner's thread without a send(2)
    /// first (``sendsThroughKernel(for:bytes:)``).
    static let ringSendBytes = 16 * 1024

    /// How many of a stream's receives through the ring go without a receiver after two of its
    /// receivers in a row ran dry soon (``SocketState/receivesWithoutReceiver``), unless one of them
    /// gets little first (``stillStreaming(received:asked:)``); then a receiver is tried again.
    ///
    /// Why: a receiver's CQEs come from the kernel's task work, which reads what is queued on
    /// the socket into the shared buffers; streams faster than the buffers come back (four
    /// connections sending 64 KiB writes) empty them, each receiver ends with ENOBUFS, the
    /// socket's window closes until it is armed again, and the SQE that arms it reads the queue
    /// at once and reopens the window, so the peer's queued segments are sent and delivered on
    /// the ring owner's thread, over and over: 25-88 µs of the server's CPU per 64 KiB received
    /// against 10-15 for C io_uring. A receiver that runs dry now and then after a long run (one
    /// stream alone) costs less than receives without one: only receivers that run dry soon,
    /// twice in a row, count (docs/architecture.md, "Twentieth session").
    static let receivesAfterRunningDry: UInt8 = 64

    /// How many of a stream's receivers in a row must run dry soon (``runsDrySoon(pieces:)``)
    /// before its receives go without one.
    static let dryRunsBeforeReceivingWithout: UInt8 = 2

    /// Whether a receiver that ran dry after bringing `pieces` pieces of data ran dry soon (fewer
    /// than four): streams that share the buffers and outrun them (four connections sending 64
    /// KiB writes: some three pieces per receiver), not one stream whose receiver runs dry now
    /// and then (its receives without a receiver were measured slower: 0.74x to 0.87x of the
    /// stream's throughput with a receiver).
    static func runsDrySoon(pieces: UInt32) -> Bool {
        pieces < 4
    }

    /// Whether a receiver that ran dry (ENOBUFS) after bringing `bytes` emptied the ring by
    /// itself: at least half the ring's bytes. Its stream has more queued than the ring holds,
    /// and a receiver armed again at once would empty the ring in its first pass again, so the
    /// receives after it read directly until a read drains the queue
    /// (``SocketState/mayRead``). Not the receivers of many connections that share the ring and
    /// run it dry together (each brought a sliver: 512 connections echoing 64 KiB messages,
    /// where direct reads after every end cost 0.81x-0.89x of the throughput).
    func emptiedRing(bytes: UInt64) -> Bool {
        let ring = UInt64(max(features.receiveRingBytes, 0))
        return ring > 0 && bytes >= ring / 2
    }

    /// Whether a receive of whatever is available that got `n` bytes of the `asked` it could
    /// take says the stream still outruns the buffers (it got at least a quarter).
    static func stillStreaming(received n: Int, asked: Int) -> Bool {
        n >= max(asked / 4, 1)
    }

    /// The most a receiver reads ahead for no receive before it is stopped (it is armed again by
    /// the next receive that waits): a peer cannot make a socket nobody reads hold more.
    static let readAheadLimit = 256 * 1024

    func answer(_ op: Operation, partial: consuming OperationValue?) -> Pending<OperationValue> {
        .completion(op.completionInfo)
    }

    /// The operation goes to the kernel with what it has moved; a receive keeps the data its
    /// attempt got and asks the kernel for the rest (a stream's plain receive through the
    /// socket's multishot receiver).
    func wait(_ op: Operation, partial: OperationValue?, ready: Bool, _ st: inout SocketState,
              _ fx: inout Effects) throws(SocketError) {
        if op.kind == .recv && op.message == nil {
            if case .bytes(let data)? = partial { op.received = data }
            // The most a receive of whatever is available takes at once (`{otp, rcvbuf}`).
            if op.target == nil && op.length == 0 { op.armedLength = st.recvBufferSize }
        }
        op.enter(.waiting)
        send(op, toKernel: &st, &fx)
    }

    /// Hands a waiting operation to the kernel: a plain stream receive to the socket's
    /// receiver (armed now if none is); any other receive, while a receiver is armed, waits for
    /// it to stop (so nothing overtakes its data); anything else gets an SQE of its own.
    func send(_ op: Operation, toKernel st: inout SocketState, _ fx: inout Effects) {
        if op.kind == .recv {
            let plain = op.message == nil && op.flags == 0 && st.type == .stream
            if plain && (st.receiver != nil || (features.multishotReceive && st.receivesWithoutReceiver == 0)) {
                op.awaitsReceiver = true
                if st.receiver == nil { armReceiver(for: op, &st, &fx) }
                return
            }
            if st.receiver != nil {
                op.awaitsReceiver = true
                stopReceiver(&st, &fx)
                return
            }
        }
        if op.kind == .accept && (st.acceptor != nil || features.multishotAccept) {
            op.awaitsReceiver = true
            if st.acceptor == nil { armAcceptor(for: op, &st, &fx) }
            return
        }
        Self.arm(op, &st, &fx)
    }

    /// The most connections an acceptor accepts ahead for no accept before it is stopped.
    static let acceptedAheadLimit = 64

    /// Arms the listener's multishot accept.
    private func armAcceptor(for op: Operation, _ st: inout SocketState, _ fx: inout Effects) {
        let acceptor = Operation(.accept, tag: .accept, handle: .make(), caller: .engine, socket: op.socket)
        acceptor.isReceiver = true
        acceptor.enter(.waiting)
        st.acceptor = acceptor
        st.acceptorStopping = false
        Self.arm(acceptor, &st, &fx)
    }

    /// Asks the kernel to end the listener's acceptor; its last CQE comes later.
    func stopAcceptor(_ st: inout SocketState, _ fx: inout Effects) {
        guard let acceptor = st.acceptor, !st.acceptorStopping else { return }
        st.acceptorStopping = true
        fx.append(.cancelInKernel(acceptor))
    }

    /// Arms the socket's multishot receive.
    private func armReceiver(for op: Operation, _ st: inout SocketState, _ fx: inout Effects) {
        let receiver = Operation(.recv, tag: .recv, handle: .make(), caller: .engine, socket: op.socket)
        receiver.isReceiver = true
        receiver.readsWhenArmed = UInt32(truncatingIfNeeded: st.counters.readPkg)
        receiver.bytesWhenArmed = st.counters.readByte
        receiver.enter(.waiting)
        st.receiver = receiver
        st.receiverStopping = false
        Self.arm(receiver, &st, &fx)
    }

    /// Asks the kernel to end the socket's receiver; its last CQE comes later.
    func stopReceiver(_ st: inout SocketState, _ fx: inout Effects) {
        guard let receiver = st.receiver, !st.receiverStopping else { return }
        st.receiverStopping = true
        fx.append(.cancelInKernel(receiver))
    }

    /// Hands `op` to the kernel: one more request in flight, and one more try of its kind (the
    /// ring's request is the kernel call).
    static func arm(_ op: Operation, _ st: inout SocketState, _ fx: inout Effects) {
        st.inflight += 1
        switch op.kind {
        case .recv: st.counters.add(.readTries)
        case .send: st.counters.add(.writeTries)
        case .accept: st.counters.add(.accTries)
        case .connect, .sendfile: break
        }
        fx.append(.arm(op))
    }

    /// The next caller's operation is tried at once, as a new call would be; if it must wait it
    /// goes to the kernel, else its completion message goes out now.
    func takeTurn(_ op: Operation, _ st: inout SocketState, _ fx: inout Effects) -> Bool {
        switch st.attempt(op, force: false) {
        case .done(.accepted(let fd)):
            fx.append(.deliverAccepted(op, fd))
            return false
        case .done(let value):
            fx.append(.notify(op, .completion(socket: op.socket, handle: op.handle, status: op.status(value))))
            return false
        case .failed(let error):
            fx.append(.notify(op, .completion(socket: op.socket, handle: op.handle, status: .failed(error))))
            return false
        case .wait(let partial, let ready):
            st.countWait(op.kind)
            // Cannot throw: the completion model arms without asking the kernel anything first.
            try? wait(op, partial: partial, ready: ready, &st, &fx)
            return true
        }
    }

    /// A receive that waits for the receiver is not in the kernel: it is cancelled at once.
    func cancel(_ op: Operation, timedOut: Bool, _ st: inout SocketState, _ fx: inout Effects) -> Bool {
        guard op.phase == .waiting, !op.awaitsReceiver else { return false }
        op.enter(.cancelling)
        fx.append(.cancelInKernel(op))
        return true
    }

    func abort(_ op: Operation, _ st: inout SocketState, _ fx: inout Effects) -> Bool {
        guard op.phase == .waiting, !op.awaitsReceiver else { return false }
        op.enter(.aborted)
        fx.append(.cancelInKernel(op))
        return true
    }

    func closing(_ st: inout SocketState, _ fx: inout Effects) {
        stopReceiver(&st, &fx)
        stopAcceptor(&st, &fx)
    }
}
