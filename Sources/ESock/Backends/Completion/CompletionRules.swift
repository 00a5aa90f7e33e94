/// The completion model's rules (OTP's Windows `esaio`, here on io_uring): an operation that
/// cannot finish at once is handed to the kernel, which finishes it; a completion message carries
/// the result. The operation keeps the data it has yet to send and what it received so far, and
/// lives until the kernel's last completion for it, so cancel and close go through the kernel.
struct CompletionRules: IOModelRules {
    /// The backend's gate: it knows the ring owner's thread.
    let gate: PollGate

    var model: IOModel { .completion }
    var callsAgain: Bool { false }
    var operationsKeepData: Bool { true }
    /// On the ring owner's thread a send is an SQE of the next batch, not a send(2) of its own;
    /// elsewhere it is tried directly first (handing it over would cost a wake-up).
    var sendsThroughKernel: Bool { gate.isBackgroundThread }

    func answer(_ op: Operation, partial: OperationValue?) -> Pending<OperationValue> {
        .completion(op.completionInfo)
    }

    /// The operation goes to the kernel with what it has moved; a receive keeps the data its
    /// attempt got and asks the kernel for the rest.
    func wait(_ op: Operation, partial: OperationValue?, ready: Bool, _ st: inout SocketState,
              _ fx: inout Effects) throws(SocketError) {
        if op.kind == .recv && op.message == nil {
            if case .bytes(let data)? = partial { op.received = data }
            // The most a receive of whatever is available takes at once (`{otp, rcvbuf}`).
            if op.length == 0 { op.armedLength = st.recvBufferSize }
        }
        op.enter(.waiting)
        Self.arm(op, &st, &fx)
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
            fx.append(.post(op.mailbox, .completion(socket: op.socket, handle: op.handle, status: op.status(value))))
            return false
        case .failed(let error):
            fx.append(.post(op.mailbox, .completion(socket: op.socket, handle: op.handle, status: .failed(error))))
            return false
        case .wait(let partial, let ready):
            st.countWait(op.kind)
            // Cannot throw: the completion model arms without asking the kernel anything first.
            try? wait(op, partial: partial, ready: ready, &st, &fx)
            return true
        }
    }

    func cancel(_ op: Operation, _ st: inout SocketState, _ fx: inout Effects) -> Bool {
        guard op.phase == .waiting else { return false }
        op.enter(.cancelling)
        fx.append(.cancelInKernel(op))
        return true
    }

    func abort(_ op: Operation, _ st: inout SocketState, _ fx: inout Effects) -> Bool {
        guard op.phase == .waiting else { return false }
        op.enter(.aborted)
        fx.append(.cancelInKernel(op))
        return true
    }
}
