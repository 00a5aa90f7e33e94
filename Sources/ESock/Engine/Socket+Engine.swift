#if canImport(Glibc)
import Glibc
#endif

// The socket as the storage of its state machine: every entry into the engine takes the
// socket's lock, runs one transition of `SocketState`, releases the lock and then performs the
// transition's effects (posting messages, resuming tasks, handing operations to the kernel,
// closing descriptors). Lock order: a socket's state lock, then, inside a transition, only the
// select backend's epoll registration (a system call, no lock) or a read of its own fields;
// mailboxes, the ring's request queue, the registry and other sockets are touched only after
// the lock is released. See docs/architecture.md, "Locks and effects".

extension Socket {
    /// Runs `body`, one transition of the socket's state, inside the socket's lock, then
    /// performs the effects it asked for, also when it throws.
    @inline(__always)
    func transition<R, E: Error>(_ body: (inout SocketState, inout Effects) throws(E) -> R) throws(E) -> R {
        var fx = Effects()
        // After the lock is released, whether the transition returned or threw.
        defer { if !fx.isEmpty { perform(&fx) } }
        return try state.withLock { (st) throws(E) -> R in
            defer { if _slowPath(st.counters.wrapped != 0) { st.noteWraps(&fx) } }
            return try body(&st, &fx)
        }
    }

    /// Runs `body` with the socket's descriptor, inside the socket's lock: the one way to the
    /// descriptor outside the engine, agreeing with close (close(2) comes after the state is
    /// closed, so `body` never sees a number that was closed or reused). `body` must be one
    /// short, non-blocking system call or a few (bind, getsockopt, ioctl ...).
    func withDescriptor<R>(_ body: (Int32) throws(SocketError) -> R) throws(SocketError) -> R {
        try state.withLock { (st: inout SocketState) throws(SocketError) -> R in
            guard !st.closed else { throw .closed }
            return try body(st.fd)
        }
    }

    /// ``withDescriptor(_:)`` with the state, for calls that change it too (listen, shutdown).
    func withOpenState<R>(_ body: (inout SocketState) throws(SocketError) -> R) throws(SocketError) -> R {
        try state.withLock { (st: inout SocketState) throws(SocketError) -> R in
            guard !st.closed else { throw .closed }
            return try body(&st)
        }
    }

    /// Does what a transition asked for, with no lock held.
    func perform(_ fx: inout Effects) {
        while let effect = fx.next() {
            // Consumed: the payloads are moved into the cases, not copied (a message posted was
            // copied on its way into the mailbox's queue, ~120 instructions per message).
            switch consume effect {
            case .post(let mailbox, let message):
                #if DEBUG
                LatePosts.wait(for: id)
                #endif
                mailbox.post(message)
            case .notify(let op, let message):
                #if DEBUG
                LatePosts.wait(for: id)
                #endif
                op.caller.post(message, unlessWithdrawn: op)
            case .expect(let mailbox):
                mailbox.expect(backend)
            case .arm(let op):
                backend.arm(op)
            case .cancelInKernel(let op):
                backend.cancelInKernel(op)
            case .deliverAccepted(let op, let fd):
                let status: CompletionStatus
                do throws(SocketError) {
                    status = .accepted(try adoptAccepted(fd))
                } catch {
                    status = .failed(error)
                }
                op.caller.post(.completion(socket: self, handle: op.handle, status: status), unlessWithdrawn: nil)
            case .closeDescriptor(let fd):
                Syscall.close(fd)
            case .closeCarried(let message):
                message.closeReceivedDescriptors()
            case .signal(let latch):
                latch.set()
            case .counterWraps(let names):
                if let owner = ownership.withLock({ $0.owner }) {
                    for name in names { owner.post(.counterWrap(socket: self, counter: name)) }
                }
            case .trace(let line):
                trace(line)
            case .release:
                break
            }
        }
    }

    // MARK: Starting operations

    /// Starts an operation (the general path of every nowait call); see
    /// ``SocketState/start(_:mayWait:_:)``.
    func start(_ op: Operation, mayWait: Bool = true, attemptFirst: Bool = true) throws(SocketError) -> Started {
        let started = try transition { (st, fx) throws(SocketError) in
            try st.start(op, mayWait: mayWait, attemptFirst: attemptFirst, &fx)
        }
        return try adopting(started)
    }

    /// The fast path of a nowait recv or send; see ``SocketState/startDirect(_:mailbox:handle:mayWait:_:_:make:)``.
    func startDirect(_ kind: Operation.Kind, caller: Caller, handle: Handle?, mayWait: Bool,
                     _ direct: (inout SocketState) -> Attempt,
                     make: (Handle, OperationValue?) -> Operation) throws(SocketError) -> Started? {
        try transition { (st, fx) throws(SocketError) in
            try st.startDirect(kind, caller: caller, handle: handle, mayWait: mayWait, &fx, direct, make: make)
        }
    }

    /// Starts a recvfrom, recvmsg, sendto or sendmsg: an operation whose kernel call is
    /// recvmsg(2)/sendmsg(2) on `message` (`IORING_OP_RECVMSG`/`SENDMSG` on the completion backend).
    func startMessage(_ kind: Operation.Kind, _ tag: OperationTag, _ message: MessageIO, flags: MessageFlags,
                      caller: Caller, handle: Handle?, mayWait: Bool = true) throws(SocketError) -> Started {
        let op = Operation(kind, tag: tag, handle: handle ?? .make(), caller: caller, socket: self, message: message)
        op.flags = flags.rawValue
        return try start(op, mayWait: mayWait, attemptFirst: kind != .send || !backend.sendsThroughKernel(for: caller, bytes: message.total))
    }

    /// A connection accepted at once becomes a socket here, outside the listener's lock.
    private func adopting(_ started: Started) throws(SocketError) -> Started {
        guard case .done(.accepted(let fd)) = started else { return started }
        return .done(.socket(try adoptAccepted(fd)))
    }

    /// Wraps an accepted descriptor into a socket on this socket's backend. It belongs to the
    /// listener's owner and is registered as the listener is (OTP: the accepting process owns
    /// it; hand it over with ``setControllingProcess(_:by:)``). On failure the descriptor is
    /// closed.
    func adoptAccepted(_ fd: Int32) throws(SocketError) -> Socket {
        try Socket(adopting: fd, domain: domain, type: type, protocol: self.protocol, backend: backend,
                   owner: owner, useRegistry: useRegistry)
    }

    // MARK: What the backends report

    /// Select backend: the socket became ready (an epoll event).
    func ready(_ event: Readiness) {
        transition { st, fx in st.readiness(event, &fx) }
    }

    /// Completion backend: the kernel's completion for `op`; `data` is the bytes of a receive
    /// into a provided buffer; `more`: the request posts more CQEs (a multishot receive).
    func completed(_ op: Operation, result: Int32, data: UnsafeRawBufferPointer?, more: Bool = false,
                   rules: CompletionRules) {
        transition { st, fx in st.completed(op, result: result, data: data, more: more, rules: rules, &fx) }
    }

    /// A multishot receive's data that the ring owner put together in an array of its own
    /// (several CQEs, or a bundle's several buffers): the array goes to the receive or the
    /// read-ahead without another copy where it can.
    func completed(_ op: Operation, gathered: [UInt8], more: Bool, rules: CompletionRules) {
        transition { st, fx in st.completed(op, gathered: gathered, more: more, rules: rules, &fx) }
    }

    // MARK: Cancel

    /// Cancels the operation with `handle` and `tag` (Erlang: `cancel/2`). Throws `invalid`
    /// when no such operation is in progress. On the completion backend it returns once the
    /// kernel has given the operation's last CQE: what the operation moved after all is kept
    /// for the next caller (or for this one, with `takingData`), and no message for the handle is
    /// delivered afterwards. `timedOut`: the caller gives up because its time ran out (a select
    /// receive then makes the read it skipped, ``IOModelRules/cancel(_:timedOut:_:_:)``).
    func cancelOperation(tag: OperationTag, handle: Handle, what: String,
                         takingData: Bool = false, timedOut: Bool = false) throws(SocketError) -> Operation {
        let (op, latch) = try transition { (st, fx) throws(SocketError) in
            try st.cancel(tag: tag, handle: handle, what: what, takingData: takingData, timedOut: timedOut, &fx)
        }
        latch?.wait()
        op.caller.flush(handle: handle)
        return op
    }

    // MARK: Close

    /// Closes the socket (Erlang: `close/1`): every current and queued operation gets an abort
    /// message with reason `closed`. On the completion backend the operations in the kernel are
    /// cancelled and the descriptor is closed only after their last CQE, so no buffer is freed
    /// and no descriptor number reused while the kernel may still use them.
    public func close() throws(SocketError) { try close(.closed) }

    /// ``close()``, telling the monitors `reason` in their DOWN messages.
    func close(_ reason: DownReason) throws(SocketError) {
        let driver = backend
        let drained = try transition { (st, fx) throws(SocketError) in try st.close(driver: driver, reason: reason, &fx) }
        backend.detach(self)
        Registry.shared.closed(self)
        drained?.wait()
        Syscall.close(fd)
        wentDown(reason)
    }
}
