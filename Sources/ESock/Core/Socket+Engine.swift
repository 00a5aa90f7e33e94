#if canImport(Glibc)
import Glibc
#endif

// The socket engine: the part of OTP's socket NIF that both backends share. It keeps each
// socket's queues of operations, makes the first attempt at every kernel call, and turns what
// the backends report (readiness, or an operation's completion in the kernel) into select,
// completion and abort messages. Lock order: a socket's state lock, then a mailbox's lock or the
// backend's submission lock; never the other way round.

extension Socket {
    /// Starts an asynchronous operation: the common path of every `nowait:` call.
    func start(_ op: Operation) throws(SocketError) -> (Pending<OperationValue>) {
        let model = backend.model
        return try state.withLock { (st: inout SocketState) throws(SocketError) -> Pending<OperationValue> in
            defer { if _slowPath(st.counters.wrapped != 0) { reportWraps(&st) } }
            guard !st.closed else { throw .closed }
            let queue = st.queue(for: op.kind)
            if op.kind == .connect, let current = queue.current, current.mailbox !== op.mailbox {
                throw SocketError(.already)
            }
            if let current = queue.current {
                if model == .select && current.mailbox === op.mailbox {
                    ownCallAgain(queue, handle: op.handle)
                } else {
                    op.phase = .queued
                    // The caller may have to drive the backend until the operations ahead finish.
                    op.mailbox.expect(backend)
                    if model == .select, let i = queue.waiting.firstIndex(where: { $0.mailbox === op.mailbox }) {
                        let old = queue.waiting[i]
                        old.mailbox.post(.abort(socket: self, handle: old.handle, reason: SocketError(.cancelled)))
                        queue.waiting[i] = op
                    } else {
                        queue.waiting.append(op)
                    }
                    return model == .select ? .select(op.selectInfo, partial: nil) : .completion(op.completionInfo)
                }
            }
            let outcome = attempt(op, &st)
            if _slowPath(st.debug) { trace("\(op.kind) \(op.handle): \(outcome.summary)") }
            switch outcome {
            case .done(let value):
                advance(queue, &st)
                return .done(value)
            case .failed(let error):
                advance(queue, &st)
                throw error
            case .wait(let partial):
                return wait(op, in: queue, partial: partial, &st)
            }
        }
    }

    /// Starts a recvfrom, recvmsg, sendto or sendmsg: an operation whose kernel call is
    /// recvmsg(2)/sendmsg(2) on `message` (`IORING_OP_RECVMSG`/`SENDMSG` on the completion backend).
    func startMessage(_ kind: Operation.Kind, _ tag: OperationTag, _ message: MessageIO, flags: MessageFlags,
                      mailbox: Mailbox, handle: Handle?) throws(SocketError) -> Pending<OperationValue> {
        let op = Operation(kind, tag: tag, handle: handle ?? .make(), mailbox: mailbox, socket: self)
        op.flags = flags.rawValue
        op.message = message
        return try start(op)
    }

    /// The fast path of a nowait recv or send. When no other caller's operation of `kind` is in
    /// the way, `direct` makes the kernel call at once, and an ``Operation`` is made (by `make`,
    /// given the handle and what already moved) only when the call must wait. Returns nil when
    /// the general path, ``start(_:)``, must run instead; then nothing was tried.
    func startDirect(_ kind: Operation.Kind, mailbox: Mailbox, handle: Handle?,
                     _ direct: (inout SocketState) -> Attempt,
                     make: (Handle, OperationValue?) -> Operation) throws(SocketError) -> Pending<OperationValue>? {
        let model = backend.model
        return try state.withLock { (st: inout SocketState) throws(SocketError) -> Pending<OperationValue>? in
            defer { if _slowPath(st.counters.wrapped != 0) { reportWraps(&st) } }
            guard !st.closed else { throw .closed }
            let queue = st.queue(for: kind)
            guard queue.waiting.isEmpty else { return nil }
            if kind == .recv && !(st.readAhead.isEmpty && st.messagesAhead.isEmpty) { return nil }
            if let current = queue.current {
                guard model == .select && current.mailbox === mailbox else { return nil }
                ownCallAgain(queue, handle: handle)
            }
            let outcome = direct(&st)
            if _slowPath(st.debug) { trace("\(kind) (direct): \(outcome.summary)") }
            switch outcome {
            case .done(let value): return .done(value)
            case .failed(let error): throw error
            case .wait(let partial):
                return wait(make(handle ?? .make(), partial), in: queue, partial: partial, &st)
            }
        }
    }

    /// Select backend: the caller that owns the current operation of `queue` calls again. After
    /// its select message that is the retry; before it, the new call (with another handle)
    /// replaces the old one, which is told so (OTP-18635). Either way the old operation is over.
    private func ownCallAgain(_ queue: OperationQueue, handle: Handle?) {
        guard let current = queue.current else { return }
        if current.phase == .waiting && current.handle != handle {
            current.mailbox.post(.abort(socket: self, handle: current.handle, reason: SocketError(.cancelled)))
        }
        queue.current = nil
    }

    /// Makes `op` the current operation of `queue`, waiting: select answers at once (the select
    /// message follows readiness); completion submits it to the kernel.
    private func wait(_ op: Operation, in queue: OperationQueue, partial: OperationValue?,
                      _ st: inout SocketState) -> Pending<OperationValue> {
        queue.current = op
        op.phase = .waiting
        countWait(op, &st)
        op.mailbox.expect(backend)
        if backend.model == .select { return .select(op.selectInfo, partial: partial) }
        backend.arm(op, &st)
        return .completion(op.completionInfo)
    }

    private func countWait(_ op: Operation, _ st: inout SocketState) {
        switch op.kind {
        case .accept: st.counters.add(.accWaits)
        case .recv: st.counters.add(.readWaits)
        case .send: st.counters.add(.writeWaits)
        case .sendfile: st.counters.add(.sendfileWaits)
        case .connect: break
        }
    }

    /// The current operation of `queue` is over: makes the next queued operation current. On the
    /// select backend it gets a select message (its turn has come: it calls again); on the
    /// completion backend it is started here and its result comes as a completion message.
    func advance(_ queue: OperationQueue, _ st: inout SocketState) {
        queue.current = nil
        while !queue.waiting.isEmpty {
            let next = queue.waiting.removeFirst()
            queue.current = next
            if backend.model == .select {
                next.phase = .notified
                next.mailbox.post(.select(socket: self, handle: next.handle))
                return
            }
            switch attempt(next, &st) {
            case .done(let value):
                next.mailbox.post(.completion(socket: self, handle: next.handle, status: status(value, of: next)))
            case .failed(let error):
                next.mailbox.post(.completion(socket: self, handle: next.handle, status: .failed(error)))
            case .wait:
                next.phase = .waiting
                countWait(next, &st)
                next.mailbox.expect(backend)
                backend.arm(next, &st)
                return
            }
            queue.current = nil
        }
    }

    /// The completion status for an operation that finished with `value`.
    func status(_ value: OperationValue, of op: Operation) -> CompletionStatus {
        switch value {
        case .socket(let s): return .accepted(s)
        case .none: return op.kind == .connect ? .connected : .sent
        case .bytes(let b): return op.kind == .recv ? .received(b) : .sent
        case .count(let n): return .sentFile(n)
        case .message(let m): return op.tag == .recvfrom ? .receivedFrom(source: m.address, data: m.data) : .receivedMessage(m)
        case .iov: return .sent
        }
    }

    // MARK: Select backend: readiness

    /// The select backend saw the socket become readable and/or writable: every current operation
    /// waiting for that gets its select message.
    func readiness(readable: Bool, writable: Bool, urgent: Bool = false, hangup: Bool = false) {
        state.withLock { st in
            guard !st.closed else { return }
            if urgent { st.urgentSeen = true }
            if hangup { st.hangupSeen = true }
            if readable {
                st.mayRead = true
                notify(st.acceptors)
                notify(st.readers)
            }
            if writable {
                notify(st.writers)
                notify(st.connectors)
            }
        }
    }

    /// Sends the select message to the current operation of `queue` if it waits for readiness.
    private func notify(_ queue: OperationQueue) {
        if let op = queue.current, op.phase == .waiting {
            op.phase = .notified
            op.mailbox.post(.select(socket: self, handle: op.handle))
        }
    }

    // MARK: Completion backend: the kernel finished an armed operation

    /// The completion backend harvested the CQE of `op`: `result` is the CQE's result, `bytes`
    /// the data of a recv that used a provided buffer.
    func kernelCompleted(_ op: Operation, result: Int32, bytes: [UInt8]?) {
        state.withLock { st in
            defer { if _slowPath(st.counters.wrapped != 0) { reportWraps(&st) } }
            if _slowPath(st.debug) { trace("\(op.kind) \(op.handle): kernel completed with \(result)") }
            st.inflight -= 1
            let queue = st.queue(for: op.kind)
            switch op.phase {
            case .cancelling, .aborted:
                // Nothing is delivered for a cancelled or aborted operation; what it moved after
                // all is kept for the next caller, so it is not lost.
                absorb(op, result: result, bytes: bytes, &st)
                if op.phase == .cancelling && !st.closed && queue.current === op { advance(queue, &st) }
                op.cancelLatch?.set()
            case .waiting:
                switch finish(op, result: result, bytes: bytes, &st) {
                case .wait:
                    backend.arm(op, &st)
                case .done(let value): deliver(op, status(value, of: op), queue, &st)
                case .failed(let error): deliver(op, .failed(error), queue, &st)
                }
            case .queued, .notified:
                break
            }
            if st.closed && st.inflight == 0 { st.drained?.set() }
        }
    }

    private func deliver(_ op: Operation, _ status: CompletionStatus, _ queue: OperationQueue, _ st: inout SocketState) {
        op.mailbox.post(.completion(socket: self, handle: op.handle, status: status))
        if queue.current === op { advance(queue, &st) }
    }

    /// Keeps what a cancelled or aborted operation moved after all: for its canceller when that
    /// one takes it, else for the next caller, so that nothing is lost.
    private func absorb(_ op: Operation, result: Int32, bytes: [UInt8]?, _ st: inout SocketState) {
        let moved = result > 0 || (op.kind == .accept && result >= 0)
        switch op.kind {
        case .recv where op.message != nil:
            // A datagram may be empty: a result of 0 is a message, except on a stream.
            guard let message = op.message, result > 0 || (result == 0 && type != .stream) else { return }
            let received = message.received(Int(result))
            st.counters.read(Int(result))
            if op.phase == .cancelling && !st.closed {
                st.messagesAhead.append(received)
            } else {
                received.closeReceivedDescriptors()
            }
        case .recv:
            if moved {
                op.received += bytes ?? op.buffer.map { Array(UnsafeRawBufferPointer(rebasing: $0[0..<Int(result)])) } ?? []
                st.counters.read(Int(result))
            }
            if op.phase == .cancelling && !st.closed && !op.cancellerTakesData {
                st.readAhead = op.received + st.readAhead
                op.received = []
            }
        case .accept:
            guard moved else { return }
            if op.phase == .cancelling && !st.closed { st.acceptedAhead.append(result) } else { Syscall.close(result) }
        case .send:
            guard moved else { return }
            op.message?.advance(by: Int(result))
            op.outgoingSent += Int(result)
            st.counters.wrote(Int(result))
        case .connect, .sendfile:
            break
        }
    }

    /// Applies the CQE result of a waiting operation.
    private func finish(_ op: Operation, result: Int32, bytes: [UInt8]?, _ st: inout SocketState) -> Attempt {
        if result == -EAGAIN || result == -ENOBUFS || result == -EINTR { return .wait(partial: nil) }
        switch op.kind {
        case .recv where op.message != nil:
            return receivedMessage(op.message!, result: Int(result), &st)
        case .send where op.message != nil:
            let message = op.message!
            if result < 0 {
                st.counters.add(.writeFails)
                let rest = message.sent > 0 ? SocketError.Partial.rest(Array(message.rest.joined())) : nil
                return .failed(SocketError(.posix(.init(rawValue: -result)), partial: rest))
            }
            message.advance(by: Int(result))
            st.counters.wrote(Int(result))
            if message.remaining > 0 && type == .stream { return .wait(partial: nil) }
            return .done(.iov(message.rest))
        case .recv:
            if result < 0 {
                st.counters.add(.readFails)
                let partial: SocketError.Partial? = op.received.isEmpty ? nil : .received(op.received)
                return .failed(SocketError(.posix(.init(rawValue: -result)), partial: partial))
            }
            if result == 0 {
                if type != .stream { return .done(.bytes([])) }
                let partial: SocketError.Partial? = op.received.isEmpty ? nil : .received(op.received)
                return .failed(SocketError(.closed, partial: partial))
            }
            st.counters.read(Int(result))
            if type == .stream && op.flags & MessageFlags.peek.rawValue == 0 {
                st.mayRead = Int(result) >= op.armedLength
            }
            if let bytes {
                // The first part is taken as it is: no second copy of a provided buffer's bytes.
                if op.received.isEmpty { op.received = bytes } else { op.received += bytes }
            } else if let buffer = op.buffer {
                op.received += UnsafeRawBufferPointer(rebasing: buffer[0..<Int(result)])
            }
            if op.length > 0 && type == .stream && op.received.count < op.length { return .wait(partial: nil) }
            let data = op.received
            op.received = []
            return .done(.bytes(data))
        case .send:
            if result < 0 {
                st.counters.add(.writeFails)
                return .failed(SocketError(.posix(.init(rawValue: -result)), partial: .rest(Array(op.unsent))))
            }
            op.outgoingSent += Int(result)
            st.counters.wrote(Int(result))
            if op.unsent.count > 0 && type == .stream { return .wait(partial: nil) }
            return .done(.none)
        case .accept:
            if result < 0 {
                st.counters.add(.accFails)
                return .failed(.posix(-result))
            }
            return adoptAccepted(result, &st)
        case .connect:
            if result < 0 { return .failed(.posix(-result)) }
            return .done(.none)
        case .sendfile:
            // The CQE of a poll for writability: go on sending.
            if result < 0 {
                st.counters.add(.sendfileFails)
                return .failed(SocketError(.posix(.init(rawValue: -result)), partial: .sent(op.fileSent)))
            }
            switch attempt(op, &st) {
            case .wait: return .wait(partial: nil)
            case .done: return .done(.count(op.fileSent))
            case .failed(let e): return .failed(e)
            }
        }
    }

    /// Wraps an accepted descriptor into a socket on this socket's backend.
    func adoptAccepted(_ fd: Int32, _ st: inout SocketState) -> Attempt {
        do throws(SocketError) {
            // The new socket belongs to the listener's owner and is registered as the listener is
            // (OTP: the accepting process owns it; hand it over with setControllingProcess).
            let s = try Socket(adopting: fd, domain: domain, type: type, protocol: self.protocol, backend: backend,
                               owner: owner, useRegistry: useRegistry)
            st.counters.add(.accSuccess)
            return .done(.socket(s))
        } catch {
            st.counters.add(.accFails)
            return .failed(error)
        }
    }

    // MARK: Cancel

    /// Cancels the operation with `handle` and `tag` (Erlang: `cancel/2`). Throws `invalid`
    /// when no such operation is in progress. On the completion backend it returns once the
    /// kernel has given the operation's last CQE: what the operation moved after all is kept
    /// for the next caller, and no message for the handle is delivered afterwards.
    func cancelOperation(tag: OperationTag, handle: Handle, what: String,
                         takingData: Bool = false) throws(SocketError) -> Operation {
        let (op, latch) = try state.withLock { (st: inout SocketState) throws(SocketError) -> (Operation, Latch?) in
            guard !st.closed else { throw .closed }
            for queue in st.allQueues {
                if let i = queue.waiting.firstIndex(where: { $0.handle == handle && $0.tag == tag }) {
                    return (queue.waiting.remove(at: i), nil)
                }
                guard let op = queue.current, op.handle == handle, op.tag == tag else { continue }
                switch op.phase {
                case .waiting where backend.model == .completion:
                    op.phase = .cancelling
                    op.cancellerTakesData = takingData
                    let latch = Latch(expecting: backend)
                    op.cancelLatch = latch
                    backend.cancelInKernel(op)
                    return (op, latch)
                case .cancelling, .aborted:
                    throw .invalid(what)
                default:
                    advance(queue, &st)
                    return (op, nil)
                }
            }
            throw .invalid(what)
        }
        latch?.wait()
        op.mailbox.flush(handle: handle)
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
        let drained = try state.withLock { (st: inout SocketState) throws(SocketError) -> Latch? in
            guard !st.closed else { throw .closed }
            st.closed = true
            if _slowPath(st.debug) { trace("close (\(reason)) with \(st.allQueues.map(\.count).reduce(0, +)) operations") }
            for queue in st.allQueues {
                for op in queue.all {
                    if op.phase == .cancelling { continue }
                    op.mailbox.post(.abort(socket: self, handle: op.handle, reason: .closed))
                    if op.phase == .waiting && backend.model == .completion {
                        op.phase = .aborted
                        backend.cancelInKernel(op)
                    }
                }
                queue.current = nil
                queue.waiting.removeAll()
            }
            for fd in st.acceptedAhead { Syscall.close(fd) }
            st.acceptedAhead.removeAll()
            st.readAhead.removeAll()
            for message in st.messagesAhead { message.closeReceivedDescriptors() }
            st.messagesAhead.removeAll()
            guard st.inflight > 0 else { return nil }
            let latch = Latch(expecting: backend)
            st.drained = latch
            return latch
        }
        backend.detach(self)
        Registry.shared.closed(self)
        drained?.wait()
        Syscall.close(fd)
        wentDown(reason)
    }
}
