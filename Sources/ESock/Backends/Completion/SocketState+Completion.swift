#if canImport(Glibc)
import Glibc
#endif

// The completion model's own transition: the kernel's completion of an armed operation. Its
// result is read with the same decoders as the direct attempt (SocketState+Attempts.swift).
extension SocketState {
    /// The kernel finished (a part of) `op`: `result` is the CQE's result, `data` the bytes of a
    /// receive into a provided buffer (nil otherwise). A waiting operation's result is delivered
    /// or it goes back to the kernel for the rest; a cancelled or aborted one keeps what it moved
    /// for the next caller (or for its canceller, or its abort message).
    mutating func completed(_ op: Operation, result: Int32, data: UnsafeRawBufferPointer?, more: Bool,
                            rules: CompletionRules, _ fx: inout Effects) {
        // The socket's own receiver first, by identity: its data CQEs do not read the
        // operation's memory (see CompletionBackend.deliver).
        if op === receiver {
            receiverCompleted(op, result: result, data: data, more: more, rules, &fx)
            return
        }
        if op.isReceiver {
            if op.kind == .accept {
                acceptorCompleted(op, result: result, more: more, rules, &fx)
            } else {
                receiverCompleted(op, result: result, data: data, more: more, rules, &fx)
            }
            return
        }
        inflight -= 1
        let queue = OperationQueue(op.kind)
        if _slowPath(debug) { fx.append(.trace("\(op.kind) \(op.handle): kernel completed with \(result)")) }
        switch op.phase {
        case .cancelling, .aborted:
            absorb(op, result: result, data: data, &fx)
            if op.phase == .aborted {
                fx.append(.notify(op, .abort(socket: op.socket, handle: op.handle,
                                                   reason: SocketError(.closed, partial: op.movedPartial))))
            } else if !closed && self[current: queue] === op {
                handOver(queue, &fx)
            }
            if let latch = op.cancelLatch { fx.append(.signal(latch)) }
        case .waiting:
            if receivesWithoutReceiver > 0 && op.kind == .recv && op.message == nil {
                let little = op.target == nil && op.length == 0 && result >= 0
                    && !CompletionRules.stillStreaming(received: Int(result), asked: op.armedLength)
                receivesWithoutReceiver = little ? 0 : receivesWithoutReceiver - 1
            }
            switch finish(op, result: result, data: data) {
            case .wait:
                rules.send(op, toKernel: &self, &fx)
            case .done(.accepted(let fd)):
                fx.append(.deliverAccepted(op, fd))
                if self[current: queue] === op { handOver(queue, &fx) }
            case .done(let value):
                fx.append(.notify(op, .completion(socket: op.socket, handle: op.handle, status: op.status(value))))
                if self[current: queue] === op { handOver(queue, &fx) }
            case .failed(let error):
                fx.append(.notify(op, .completion(socket: op.socket, handle: op.handle, status: .failed(error))))
                if self[current: queue] === op { handOver(queue, &fx) }
            }
        case .queued, .notified:
            assertionFailure("a completion for operation \(op.handle), which is not in the kernel")
        }
        if closed && inflight == 0, let latch = drained {
            fx.append(.signal(latch))
            drained = nil
        }
    }

    // MARK: The multishot receiver

    /// A CQE of the socket's multishot receiver: data feeds the receive waiting for it (or the
    /// read-ahead); its last CQE (no `IORING_CQE_F_MORE`: the end of the stream, an error, no
    /// provided buffer left, or a cancel) ends it, and a receive still waiting takes its turn again
    /// (a new receiver, an SQE of its own, or the data read ahead).
    private mutating func receiverCompleted(_ receiver: Operation, result: Int32, data: UnsafeRawBufferPointer?,
                                            owned: [UInt8]? = nil, more: Bool, _ rules: CompletionRules,
                                            _ fx: inout Effects) {
        let n = Int(result)
        if !more {
            inflight -= 1
            if result != -ENOBUFS { receiverDryRunsInARow = 0 }
            if self.receiver === receiver {
                self.receiver = nil
                receiverStopping = false
                // Ended for want of buffers after emptying the ring by itself, it left data
                // queued (a fast stream: more than the ring): the next receives read it
                // directly, and a receive arms a receiver again only once a read drained the
                // queue, so that the new receiver's first pass is small. Armed at once, its first
                // pass emptied the ring again, and a reader that fell behind stayed behind
                // (docs/architecture.md, "Twenty-fourth session").
                if result == -ENOBUFS && rules.emptiedRing(bytes: counters.readByte &- receiver.bytesWhenArmed) {
                    mayRead = true
                }
            }
            fx.append(.release(receiver))
        }
        if _slowPath(debug) { fx.append(.trace("receiver: kernel completed with \(result)\(more ? ", more" : "")")) }
        if !closed {
            if n > 0 {
                counters.read(n)
                if let owned {
                    feed(owned: owned, rules, &fx)
                } else {
                    feed(data ?? UnsafeRawBufferPointer(start: nil, count: 0), rules, &fx)
                }
            } else if n == 0 && !more {
                // The end of the stream: the waiting receive gets it, else the next receive's own
                // call will.
                if let op = self[current: .readers], op.phase == .waiting, op.awaitsReceiver, op.message == nil {
                    counters.add(.readFails)
                    let partial: SocketError.Partial? = op.received.isEmpty ? nil : .received(take(&op.received))
                    finishAwaiting(op, .failed(SocketError(.closed, partial: partial)), &fx)
                }
            } else if result == -EINVAL {
                // A kernel without multishot receives: plain receives from now on.
                rules.features.setMultishotReceive(false)
            } else if result == -ENOBUFS && !more {
                // Ran dry soon, twice in a row: the socket's receives go on without a receiver
                // for a while (CompletionRules.receivesAfterRunningDry).
                let pieces = UInt32(truncatingIfNeeded: counters.readPkg) &- receiver.readsWhenArmed
                receiverDryRunsInARow = CompletionRules.runsDrySoon(pieces: pieces) ? receiverDryRunsInARow + 1 : 0
                if receiverDryRunsInARow >= CompletionRules.dryRunsBeforeReceivingWithout {
                    receiverDryRunsInARow = 0
                    receivesWithoutReceiver = CompletionRules.receivesAfterRunningDry
                }
            } else if result != -ENOBUFS && result != -ECANCELED && result != -EINTR && result != -EAGAIN {
                let error = SocketError.posix(-result)
                counters.add(.readFails)
                if let op = self[current: .readers], op.phase == .waiting, op.awaitsReceiver, op.message == nil {
                    let partial: SocketError.Partial? = op.received.isEmpty ? nil : .received(take(&op.received))
                    finishAwaiting(op, .failed(SocketError(error.reason, partial: partial)), &fx)
                } else {
                    readError = error
                }
            }
            if !more, let op = self[current: .readers], op.phase == .waiting, op.awaitsReceiver {
                op.awaitsReceiver = false
                retry(op, rules, &fx)
            }
        }
        if closed && inflight == 0, let latch = drained {
            fx.append(.signal(latch))
            drained = nil
        }
    }

    /// A CQE of the listener's multishot accept: a connection goes to the accept waiting for it,
    /// or is accepted ahead (at most ``CompletionRules/acceptedAheadLimit``, then the acceptor
    /// stops); its last CQE ends it, and an accept still waiting takes its turn again.
    private mutating func acceptorCompleted(_ acceptor: Operation, result: Int32, more: Bool,
                                            _ rules: CompletionRules, _ fx: inout Effects) {
        if !more {
            inflight -= 1
            if self.acceptor === acceptor {
                self.acceptor = nil
                acceptorStopping = false
            }
            fx.append(.release(acceptor))
        }
        if _slowPath(debug) { fx.append(.trace("acceptor: kernel completed with \(result)\(more ? ", more" : "")")) }
        if closed {
            if result >= 0 { fx.append(.closeDescriptor(result)) }
        } else if result >= 0 {
            counters.add(.accSuccess)
            if let op = self[current: .acceptors], op.phase == .waiting, op.awaitsReceiver {
                op.awaitsReceiver = false
                fx.append(.deliverAccepted(op, result))
                handOver(.acceptors, &fx)
            } else {
                acceptedAhead.append(result)
                if acceptedAhead.count >= CompletionRules.acceptedAheadLimit { rules.stopAcceptor(&self, &fx) }
            }
        } else if result == -EINVAL {
            // A kernel without multishot accepts: plain accepts from now on.
            rules.features.setMultishotAccept(false)
        } else if result != -ECANCELED && result != -EINTR && result != -EAGAIN && result != -ECONNABORTED {
            counters.add(.accFails)
            if let op = self[current: .acceptors], op.phase == .waiting, op.awaitsReceiver {
                op.awaitsReceiver = false
                fx.append(.notify(op, .completion(socket: op.socket, handle: op.handle, status: .failed(.posix(-result)))))
                handOver(.acceptors, &fx)
            }
        }
        if !closed && !more, let op = self[current: .acceptors], op.phase == .waiting, op.awaitsReceiver {
            op.awaitsReceiver = false
            switch attempt(op, force: false) {
            case .done(.accepted(let fd)):
                fx.append(.deliverAccepted(op, fd))
                handOver(.acceptors, &fx)
            case .failed(let error):
                fx.append(.notify(op, .completion(socket: op.socket, handle: op.handle, status: .failed(error))))
                handOver(.acceptors, &fx)
            default:
                rules.send(op, toKernel: &self, &fx)
            }
        }
        if closed && inflight == 0, let latch = drained {
            fx.append(.signal(latch))
            drained = nil
        }
    }

    /// Several CQEs of the socket's multishot receiver delivered as one, or one CQE whose data
    /// filled several provided buffers (a bundle's): the ring owner copied their bytes, in order,
    /// into `bytes`. A CQE with data of a receiver that is not the socket's current one (it
    /// was stopped) is handled as ``completed(_:result:data:more:rules:_:)`` handles it.
    mutating func completed(_ op: Operation, gathered bytes: [UInt8], more: Bool, rules: CompletionRules,
                            _ fx: inout Effects) {
        if op === receiver || (op.isReceiver && op.kind == .recv) {
            receiverCompleted(op, result: Int32(clamping: bytes.count), data: nil, owned: bytes, more: more, rules, &fx)
        } else {
            bytes.withUnsafeBytes { completed(op, result: Int32(clamping: $0.count), data: $0, more: more, rules: rules, &fx) }
        }
    }

    /// Data from the receiver, in an array of its own: moved, not copied, to the receive waiting
    /// for it when that receive takes all of it, or to the read-ahead as a piece when no receive
    /// waits for the receiver; otherwise as ``feed(_:_:_:)``.
    private mutating func feed(owned bytes: [UInt8], _ rules: CompletionRules, _ fx: inout Effects) {
        if let op = self[current: .readers], op.phase == .waiting, op.awaitsReceiver, op.target == nil, op.message == nil,
           op.flags == 0, op.received.isEmpty, op.length == 0, bytes.count <= max(op.armedLength, 1) {
            op.received = bytes
            finishAwaiting(op, .done(.bytes(take(&op.received))), &fx)
            return
        }
        if !(self[current: .readers].map { $0.phase == .waiting && $0.awaitsReceiver } ?? false) {
            readAhead.append(bytes)
            if readAhead.count > CompletionRules.readAheadLimit { rules.stopReceiver(&self, &fx) }
            return
        }
        bytes.withUnsafeBytes { feed($0, rules, &fx) }
    }

    /// Data from the receiver: to the receive waiting for it, the rest to the read-ahead; a
    /// read-ahead past its limit stops the receiver.
    private mutating func feed(_ data: UnsafeRawBufferPointer, _ rules: CompletionRules, _ fx: inout Effects) {
        if let op = self[current: .readers], op.phase == .waiting, op.awaitsReceiver, let target = op.target {
            // Into the caller's memory, the rest read ahead.
            let count = min(data.count, target.count)
            target.copyMemory(from: UnsafeRawBufferPointer(rebasing: data[0..<count]))
            if count < data.count { readAhead.append(UnsafeRawBufferPointer(rebasing: data[count...])) }
            finishAwaiting(op, .done(.count(count)), &fx)
        } else if let op = self[current: .readers], op.phase == .waiting, op.awaitsReceiver, op.message == nil, op.flags == 0 {
            let want = op.length == 0 ? min(data.count, max(op.armedLength, 1)) : min(data.count, op.length - op.received.count)
            if op.received.isEmpty { op.received = Array(data[0..<want]) } else { op.received += data[0..<want] }
            if want < data.count { readAhead.append(UnsafeRawBufferPointer(rebasing: data[want...])) }
            if op.length == 0 || op.received.count == op.length {
                finishAwaiting(op, .done(.bytes(take(&op.received))), &fx)
            }
        } else {
            readAhead.append(data)
        }
        if readAhead.count > CompletionRules.readAheadLimit { rules.stopReceiver(&self, &fx) }
    }

    /// A receive that waited for the receiver is over: its completion message, and the next
    /// caller's turn.
    private mutating func finishAwaiting(_ op: Operation, _ outcome: Attempt, _ fx: inout Effects) {
        op.awaitsReceiver = false
        switch outcome {
        case .done(let value):
            fx.append(.notify(op, .completion(socket: op.socket, handle: op.handle, status: op.status(value))))
        case .failed(let error):
            fx.append(.notify(op, .completion(socket: op.socket, handle: op.handle, status: .failed(error))))
        case .wait:
            return
        }
        if self[current: .readers] === op { handOver(.readers, &fx) }
    }

    /// A receive that waited for a receiver that ended: served from what was read ahead, or
    /// handed to the kernel again.
    private mutating func retry(_ op: Operation, _ rules: CompletionRules, _ fx: inout Effects) {
        switch attempt(op, force: false) {
        case .wait(let partial, _):
            if case .bytes(let d)? = partial { op.received = d }
            rules.send(op, toKernel: &self, &fx)
        case let outcome:
            finishAwaiting(op, outcome, &fx)
        }
    }

    /// What the CQE of a waiting operation means, read by the same decoders as a direct attempt.
    private mutating func finish(_ op: Operation, result: Int32, data: UnsafeRawBufferPointer?) -> Attempt {
        let n = Int(result)
        switch op.kind {
        case .recv:
            if let message = op.message { return receivedMessage(n, message) }
            if op.target != nil { return receivedInto(n, asked: op.armedLength, flags: op.flags) }
            let bytes = data ?? receivedInBuffer(op, n)
            var received = op.received
            op.received = []
            switch self.received(n, bytes, asked: op.armedLength, length: op.length, flags: op.flags,
                                 gather: false, into: &received) {
            case .more:
                op.received = received
                return .blocked
            case .finished(.wait(let partial, _)):
                if case .bytes(let d)? = partial { op.received = d }
                return .blocked
            case .finished(let outcome):
                return outcome
            }
        case .send:
            if let message = op.message {
                switch sentMessage(n, message) {
                case .more, .blocked: return .blocked
                case .done: return .done(.iov(message.remaining == 0 ? [] : message.rest))
                case .failed(let reason):
                    return .failed(SocketError(reason, partial: message.sent > 0 ? message.restPartial : nil))
                }
            }
            switch sent(n, total: op.outgoing?.count ?? 0, sent: &op.outgoingSent) {
            case .more, .blocked: return .blocked
            case .done: return .done(.none)
            case .failed(let reason): return .failed(SocketError(reason, partial: .rest(Array(op.unsent))))
            }
        case .accept:
            return acceptResult(n)
        case .connect:
            // The CQE of the poll for writability: the connect's outcome is the socket's error.
            if n < 0 {
                connectInProgress = false
                return .failed(.posix(Int32(-n)))
            }
            return finishConnect()
        case .sendfile:
            // The CQE of the poll for writability: go on sending.
            if n < 0 {
                counters.add(.sendfileFails)
                return .failed(SocketError(.posix(.init(rawValue: Int32(-n))), partial: .sent(op.fileSent)))
            }
            switch attemptSendfile(op) {
            case .wait: return .blocked
            case .done: return .done(.count(op.fileSent))
            case .failed(let e): return .failed(e)
            }
        }
    }

    /// The bytes the kernel wrote into the operation's own buffer.
    private func receivedInBuffer(_ op: Operation, _ n: Int) -> UnsafeRawBufferPointer {
        guard n > 0, let buffer = op.buffer else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(rebasing: buffer[0..<min(n, buffer.count)])
    }

    /// Keeps what a cancelled or aborted operation moved after all: for its canceller when that
    /// one takes it, for its abort message, or for the next caller, so that nothing is lost.
    private mutating func absorb(_ op: Operation, result: Int32, data: UnsafeRawBufferPointer?, _ fx: inout Effects) {
        let n = Int(result)
        let keep = op.phase == .cancelling && !closed
        switch op.kind {
        case .recv:
            if let message = op.message {
                // A datagram may be empty: a result of 0 is a message, except on a stream.
                guard n > 0 || (n == 0 && type != .stream) else { return }
                let received = message.received(n)
                counters.read(n)
                if keep { messagesAhead.append(received) } else { fx.append(.closeCarried(received)) }
                return
            }
            if op.target != nil {
                // The bytes are in the caller's memory; its canceller (a blocking or async call,
                // which waits for this) reports how many.
                if n > 0 {
                    op.receivedCount = n
                    counters.read(n)
                }
                return
            }
            if n > 0 {
                op.received += data ?? receivedInBuffer(op, n)
                counters.read(n)
            }
            if keep && !op.cancellerTakesData {
                readAhead.prepend(take(&op.received))
            }
        case .accept:
            guard n >= 0 else { return }
            counters.add(.accSuccess)
            if keep { acceptedAhead.append(result) } else { fx.append(.closeDescriptor(result)) }
        case .send:
            // Bytes that went after all; the package was given up (its count starts again).
            guard n > 0 else { return }
            counters.wrote(n)
            if let message = op.message { message.advance(by: n) } else { op.outgoingSent += n }
        case .connect, .sendfile:
            break
        }
    }
}
