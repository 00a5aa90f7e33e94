/// What starting an operation came to, inside the engine.
enum Started {
    /// Finished at once; no message follows.
    case done(OperationValue)
    /// Waits: the answer for the caller (select or completion info); a message follows.
    case pending(Pending<OperationValue>)
    /// Would have to wait, and the caller may not (a zero timeout): nothing was queued or
    /// armed. `partial` is what moved before.
    case wouldBlock(partial: OperationValue?)
}

// The transitions both I/O models share: starting an operation, handing the turn to the next
// caller, cancel and close. Each runs inside the socket's lock and returns its effects; where the
// models differ it asks `rules`. The model-only transitions live with their backends (readiness
// in Backends/Select, kernel completions in Backends/Completion).
extension SocketState {
    // MARK: Starting

    /// Starts `op`: the general path of every nowait call. The current operation of its kind
    /// goes first: select lets the mailbox that owns it call again (the retry after its select
    /// message, or a new call replacing it); anyone else queues. Otherwise `op` is tried at once
    /// and, if it must wait, becomes the current operation. `mayWait` false (a zero timeout):
    /// nothing is queued or armed; the answer is then ``Started/wouldBlock(partial:)``.
    ///
    /// `attemptFirst` false: the operation goes to the kernel's queue without a direct attempt
    /// (a send on the completion backend's ring owner, see ``IOBackendDriver/sendsThroughKernel(for:bytes:)``).
    mutating func start(_ op: Operation, mayWait: Bool, attemptFirst: Bool = true,
                        _ fx: inout Effects) throws(SocketError) -> Started {
        guard !closed else { throw .closed }
        let queue = OperationQueue(op.kind)
        if op.kind == .connect, let current = self[current: queue], !current.caller.isSame(as: op.caller) {
            throw SocketError(.already)
        }
        if let current = self[current: queue] {
            if rules.callsAgain && current.caller.isSame(as: op.caller) {
                callAgain(queue, handle: op.handle, &fx)
            } else {
                guard mayWait else { return .wouldBlock(partial: nil) }
                return .pending(enqueue(op, in: queue, &fx))
            }
        }
        let outcome = attemptFirst || !mayWait ? attempt(op, force: !mayWait) : Attempt.blocked
        if _slowPath(debug) { fx.append(.trace("\(op.kind) \(op.handle): \(outcome.summary)")) }
        return try settle(outcome, of: op, in: queue, mayWait: mayWait, &fx) { op }
    }

    /// The fast path of a nowait recv or send: when no other caller's operation of `kind` is in
    /// the way, `direct` makes the kernel calls at once, and an ``Operation`` is made (by `make`,
    /// given what already moved) only when the call must wait. Returns nil when the general
    /// path, ``start(_:mayWait:_:)``, must run instead; then nothing was tried.
    mutating func startDirect(_ kind: Operation.Kind, caller: Caller, handle: Handle?, mayWait: Bool,
                              _ fx: inout Effects,
                              _ direct: (inout SocketState) -> Attempt,
                              make: (Handle, OperationValue?) -> Operation) throws(SocketError) -> Started? {
        guard !closed else { throw .closed }
        let queue = OperationQueue(kind)
        guard !hasWaiting(queue) else { return nil }
        if kind == .recv && hasMessagesAhead { return nil }
        if let current = self[current: queue] {
            guard rules.callsAgain && current.caller.isSame(as: caller) else { return nil }
            callAgain(queue, handle: handle, &fx)
        }
        let outcome = direct(&self)
        if _slowPath(debug) { fx.append(.trace("\(kind) (direct): \(outcome.summary)")) }
        return try settle(outcome, of: nil, in: queue, mayWait: mayWait, &fx) {
            guard case .wait(let partial, _) = outcome else { preconditionFailure("made only to wait") }
            return make(handle ?? .make(), partial)
        }
    }

    /// What an attempt at the queue's new current operation comes to: done or failed, the turn
    /// passes on; must wait, the operation (`operation()`, made only then) becomes current.
    private mutating func settle(_ outcome: Attempt, of op: Operation?, in queue: OperationQueue, mayWait: Bool,
                                 _ fx: inout Effects, _ operation: () -> Operation) throws(SocketError) -> Started {
        switch outcome {
        case .done(let value):
            if self[current: queue] != nil || hasWaiting(queue) { handOver(queue, &fx) }
            return .done(value)
        case .failed(let error):
            if self[current: queue] != nil || hasWaiting(queue) { handOver(queue, &fx) }
            throw error
        case .wait(let partial, let ready):
            guard mayWait else {
                if hasWaiting(queue) { handOver(queue, &fx) }
                return .wouldBlock(partial: partial)
            }
            let op = operation()
            let r = rules
            do {
                try r.wait(op, partial: partial, ready: ready, &self, &fx)
            } catch {
                if hasWaiting(queue) { handOver(queue, &fx) }
                throw error
            }
            self[current: queue] = op
            countWait(op.kind)
            expectIfNeeded(op, &fx)
            return .pending(r.answer(op, partial: partial))
        }
    }

    /// Asks for the `.expect` effect when `op`'s caller is a mailbox that does not know yet that
    /// the socket's backend delivers to it. Once a mailbox expects the backend, as a nowait
    /// loop's does after its first wait, no effect (and no reference to the mailbox) is made
    /// per operation; other callers read nothing.
    @inline(__always)
    private func expectIfNeeded(_ op: Operation, _ fx: inout Effects) {
        if op.caller.mailboxMustExpect(ObjectIdentifier(op.socket.backend)), let m = op.caller.mailbox {
            fx.append(.expect(m))
        }
    }

    /// A caller queues behind the current operation. On select a caller has one place in the
    /// queue: a second call replaces its first, which is told so (abort `cancelled`, OTP-18635).
    private mutating func enqueue(_ op: Operation, in queue: OperationQueue, _ fx: inout Effects) -> Pending<OperationValue> {
        expectIfNeeded(op, &fx)
        if rules.callsAgain, let i = self[waiting: queue].firstIndex(where: { $0.caller.isSame(as: op.caller) }) {
            let old = self[waiting: queue][i]
            fx.append(.notify(old, .abort(socket: old.socket, handle: old.handle, reason: SocketError(.cancelled))))
            fx.append(.release(old))
            self[waiting: queue][i] = op
        } else {
            self[waiting: queue].append(op)
        }
        return rules.answer(op, partial: nil)
    }

    /// Select: the caller that owns the current operation of `queue` calls again. After its
    /// select message that is the retry; before it, the new call (with another handle) replaces
    /// the old one, which is told so (OTP-18635). Either way the old operation is over.
    private mutating func callAgain(_ queue: OperationQueue, handle: Handle?, _ fx: inout Effects) {
        guard let current = self[current: queue] else { return }
        if current.phase == .waiting && current.handle != handle {
            fx.append(.notify(current, .abort(socket: current.socket, handle: current.handle,
                                                    reason: SocketError(.cancelled))))
        }
        fx.append(.release(current))
        self[current: queue] = nil
    }

    mutating func countWait(_ kind: Operation.Kind) {
        switch kind {
        case .accept: counters.add(.accWaits)
        case .recv: counters.add(.readWaits)
        case .send: counters.add(.writeWaits)
        case .sendfile: counters.add(.sendfileWaits)
        case .connect: break
        }
    }

    // MARK: The next caller's turn

    /// The current operation of `queue` is over: the queued operations take their turn in order
    /// until one stays current (it waits), as the model says (select: a select message when the
    /// socket is ready for it; completion: it is tried, and armed if it must wait).
    mutating func handOver(_ queue: OperationQueue, _ fx: inout Effects) {
        self[current: queue] = nil
        while hasWaiting(queue) {
            let next = self[waiting: queue].removeFirst()
            self[current: queue] = next
            let r = rules
            if r.takeTurn(next, &self, &fx) { return }
            fx.append(.release(next))
            self[current: queue] = nil
        }
    }

    // MARK: Cancel

    /// Cancels the operation with `handle` and `tag` (Erlang: `cancel/2`). Returns it, and the
    /// latch to wait on when the kernel holds it (its last completion has to come first). Throws
    /// `invalid(what)` when no such operation is in progress.
    mutating func cancel(tag: OperationTag, handle: Handle, what: String, takingData: Bool, timedOut: Bool = false,
                         _ fx: inout Effects) throws(SocketError) -> (Operation, Latch?) {
        guard !closed else { throw .closed }
        // A send given up leaves its package incomplete: the next one counts from zero.
        if tag == .send || tag == .sendto || tag == .sendmsg || tag == .sendv { writePackageSent = 0 }
        for queue in OperationQueue.allCases {
            if let i = self[waiting: queue].firstIndex(where: { $0.handle == handle && $0.tag == tag }) {
                let op = self[waiting: queue].remove(at: i)
                op.withdrawn.store(true, ordering: .sequentiallyConsistent)
                return (op, nil)
            }
            guard let op = self[current: queue], op.handle == handle, op.tag == tag else { continue }
            switch op.phase {
            case .cancelling, .aborted:
                throw .invalid(what)
            default:
                op.withdrawn.store(true, ordering: .sequentiallyConsistent)
                op.cancellerTakesData = takingData
                let r = rules
                if r.cancel(op, timedOut: timedOut, &self, &fx) {
                    let latch = Latch(expecting: op.socket.backend)
                    op.cancelLatch = latch
                    return (op, latch)
                }
                // What a receive fed from the read-ahead had gathered goes back, unless its
                // canceller takes it.
                if !takingData && !op.received.isEmpty {
                    readAhead.prepend(take(&op.received))
                }
                handOver(queue, &fx)
                return (op, nil)
            }
        }
        throw .invalid(what)
    }

    // MARK: Close

    /// Closes the socket's state (Erlang: `close/1`): every current and queued operation is
    /// aborted with reason `closed` (one the kernel holds when its last completion comes, with
    /// what it moved); what was read ahead is dropped, descriptors it carried closed. Returns the
    /// latch to wait on before the descriptor may be closed, when the kernel still holds
    /// operations.
    mutating func close(driver: any PollDriver, reason: DownReason, _ fx: inout Effects) throws(SocketError) -> Latch? {
        guard !closed else { throw .closed }
        closed = true
        if _slowPath(debug) {
            fx.append(.trace("close (\(reason)) with \(OperationQueue.allCases.map(count).reduce(0, +)) operations"))
        }
        for queue in OperationQueue.allCases {
            for op in all(queue) {
                fx.append(.release(op))
                // A cancelling operation's canceller waits for its last completion.
                if op.phase == .cancelling { continue }
                let r = rules
                if r.abort(op, &self, &fx) { continue }
                fx.append(.notify(op, .abort(socket: op.socket, handle: op.handle,
                                                   reason: SocketError(.closed, partial: op.movedPartial))))
            }
            empty(queue)
        }
        let closingRules = rules
        closingRules.closing(&self, &fx)
        // What was kept ahead is let go; an empty list is left as it is (emptying it in place
        // would make the rare fields, a malloc and a free per close).
        let accepted = acceptedAhead
        if !accepted.isEmpty {
            for fd in accepted { fx.append(.closeDescriptor(fd)) }
            acceptedAhead.removeAll()
        }
        readAhead.removeAll()
        if hasMessagesAhead {
            for message in messagesAhead { fx.append(.closeCarried(message)) }
            messagesAhead.removeAll()
        }
        guard inflight > 0 else { return nil }
        let latch = Latch(expecting: driver)
        drained = latch
        return latch
    }

    /// Sends `counter_wrap` to the owner for each counter that wrapped, when `{otp, iow}` is set.
    mutating func noteWraps(_ fx: inout Effects) {
        let names = counters.takeWraps()
        if iow && !names.isEmpty { fx.append(.counterWraps(names)) }
    }
}

extension Operation {
    /// The completion status for this operation finished with `value`.
    func status(_ value: OperationValue) -> CompletionStatus {
        switch value {
        case .socket(let s): return .accepted(s)
        case .accepted: return .failed(.invalid("accepted descriptor not adopted"))
        case .none: return kind == .connect ? .connected : .sent
        case .bytes(let b): return kind == .recv ? .received(b) : .sent
        case .count(let n): return kind == .recv ? .receivedCount(n) : .sentFile(n)
        case .message(let m): return tag == .recvfrom ? .receivedFrom(source: m.address, data: m.data) : .receivedMessage(m)
        case .iov: return .sent
        }
    }
}
