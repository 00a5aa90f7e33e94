#if canImport(Glibc)
import Glibc
#endif

// The kernel calls of every operation, non-blocking, and the one decoder of each call's result:
// the direct attempt (here) and the completion backend's CQEs (Backends/Completion) read a
// recv, send, recvmsg, sendmsg and accept result through the same functions, so end of stream,
// partial data and the counters are decided once. Every loop is bounded by
// `SocketState.syscallBudget`.
extension SocketState {
    /// Makes one attempt at an operation's kernel calls. `force`: make the call even where the
    /// drained-read shortcut would skip it (a call that may not wait tries once, OTP-19063).
    mutating func attempt(_ op: Operation, force: Bool) -> Attempt {
        switch op.kind {
        case .recv: return attemptRecv(op, force: force)
        case .send: return attemptSend(op)
        case .accept: return attemptAccept()
        case .connect: return attemptConnect(op)
        case .sendfile: return attemptSendfile(op)
        }
    }

    // MARK: Receiving

    private mutating func attemptRecv(_ op: Operation, force: Bool) -> Attempt {
        if let target = op.target { return receiveInto(target, flags: op.flags, force: force) }
        // A message a cancelled recvfrom or recvmsg received after all comes first.
        if hasMessagesAhead {
            let message = messagesAhead.removeFirst()
            return .done(op.message == nil ? .bytes(message.data) : .message(message))
        }
        if let message = op.message {
            if !readAhead.isEmpty {
                var data: [UInt8] = []
                readAhead.take(max(message.total, 1), into: &data)
                return .done(.message(Msg(iov: [data])))
            }
            if receiver != nil { return .blocked }
            return receiveMessageNow(message, flags: op.flags)
        }
        let received = op.received
        op.received = []
        return receiveDirect(length: op.length, flags: op.flags, received: received, force: force)
    }

    /// A recv(2)-style receive: first what was read ahead (data a cancelled receive or the
    /// multishot receiver got), then, unless a multishot receiver is armed (it alone reads the
    /// socket then, so that nothing is overtaken), the kernel calls. Out-of-band data is
    /// separate from the stream: `MSG_OOB` always goes to the kernel.
    mutating func receiveDirect(length: Int, flags: Int32, received: consuming [UInt8] = [], force: Bool) -> Attempt {
        let oob = flags & MessageFlags.oob.rawValue != 0
        if !readAhead.isEmpty && !oob {
            let peek = flags & MessageFlags.peek.rawValue != 0
            if length == 0 && received.isEmpty && !peek {
                // All of it: a single piece is the array it came in (no copy), several are
                // joined. (Capped at 64 KiB, as a direct receive reads, a stream received
                // measured 0.86x: more receives for the same bytes.)
                received = readAhead.takeAll()
            } else {
                let want = length == 0 ? readAhead.count : length - received.count
                readAhead.take(want, into: &received, peek: peek)
            }
            if length == 0 || received.count == length { return .done(.bytes(received)) }
        }
        if receiver != nil && !oob { return .wait(partial: received.isEmpty ? nil : .bytes(received), ready: false) }
        if let error = readError, !oob {
            readError = nil
            return .failed(received.isEmpty ? error : SocketError(error.reason, partial: .received(received)))
        }
        return receiveNow(length: length, flags: flags, received: received, force: force)
    }

    /// Whether a short read of this receive means the kernel's receive queue is empty (see
    /// ``mayRead``).
    private func drains(_ flags: Int32) -> Bool {
        type == .stream && flags & MessageFlags.peek.rawValue == 0 && !urgentSeen && !hangupSeen
    }

    /// The receive loop of recv(2) calls, non-blocking: `length` 0 takes what one call gives, at
    /// most `{otp, rcvbuf}` bytes (on a stream, up to its count of such calls while each fills its
    /// buffer); on a stream, `length` N calls until N bytes came, after `received`. At most
    /// ``syscallBudget`` calls. Skips the call when the last one drained the socket (see
    /// ``mayRead``), unless `force`.
    mutating func receiveNow(length: Int, flags: Int32, received: consuming [UInt8] = [], force: Bool) -> Attempt {
        if drains(flags) && !mayRead && !force {
            return .wait(partial: received.isEmpty ? nil : .bytes(received), ready: false)
        }
        let scratch = Scratch.buffer
        let chunk = min(Scratch.size, recvBufferSize)
        var reads = 0
        while true {
            if reads == SocketState.syscallBudget {
                // The socket may have more: a receive of whatever is available has its answer;
                // one of a length continues later.
                if length == 0 { return .done(.bytes(received)) }
                return .wait(partial: .bytes(received), ready: true)
            }
            let want = length == 0 ? chunk : min(Scratch.size, length - received.count)
            counters.add(.readTries)
            let n = Syscall.recv(fd, scratch, want, flags)
            reads += 1
            let data = UnsafeRawBufferPointer(start: scratch, count: max(n, 0))
            switch self.received(n, data, asked: want, length: length, flags: flags,
                                 gather: reads < recvBufferCount, into: &received) {
            case .more: continue
            case .finished(let attempt): return attempt
            }
        }
    }

    /// Where a receive stands after one kernel result.
    enum ReceiveStep {
        /// Read again (more is wanted and may be there).
        case more
        /// The receive's outcome.
        case finished(Attempt)
    }

    /// What a recv(2) result is, read once for every receive (into an array or into the caller's
    /// memory, from the direct call or a CQE): the counters and the drained-read flag move here.
    enum ReadResult {
        case data(Int)
        case end
        case blocked
        case error(Int32)
    }

    /// Reads one recv(2) result: `n` is the byte count or -errno, `asked` what the call asked for.
    mutating func readResult(_ n: Int, asked: Int, flags: Int32) -> ReadResult {
        if n > 0 {
            counters.read(n)
            if drains(flags) { mayRead = n >= asked }
            return .data(n)
        }
        if n == 0 { return .end }
        if n == -Int(EAGAIN) || n == -Int(EINTR) || n == -Int(ENOBUFS) {
            if drains(flags) && n == -Int(EAGAIN) { mayRead = false }
            return .blocked
        }
        counters.add(.readFails)
        return .error(Int32(-n))
    }

    /// What one recv(2) result means for a receive into an array, whether it came from the
    /// direct call or from a CQE: `data` the bytes, `asked` what the call asked for, `length` the
    /// receive's length (0: whatever is available) and `received` what came before. `gather`: a
    /// full read of length 0 on a stream may read again (`{otp, rcvbuf}`'s count).
    mutating func received(_ n: Int, _ data: UnsafeRawBufferPointer, asked: Int, length: Int, flags: Int32,
                           gather: Bool, into received: inout [UInt8]) -> ReceiveStep {
        let isStream = type == .stream
        switch readResult(n, asked: asked, flags: flags) {
        case .data:
            if received.isEmpty {
                // One allocation of the exact size (this form is specialized for UInt8; the
                // unsafeUninitializedCapacity one looks the storage type up at run time).
                received = Array(data)
            } else {
                received += data
            }
            let more = isStream && (length == 0 ? gather && n == asked : received.count < length)
            return more ? .more : .finished(.done(.bytes(take(&received))))
        case .end:
            // A datagram may be empty; a stream's 0 is its end, after any data gathered.
            if !isStream || (length == 0 && !received.isEmpty) { return .finished(.done(.bytes(take(&received)))) }
            counters.add(.readFails)
            return .finished(.failed(SocketError(.closed, partial: received.isEmpty ? nil : .received(take(&received)))))
        case .blocked:
            // Gathering reads of length 0: what came is the answer.
            if length == 0 && !received.isEmpty { return .finished(.done(.bytes(take(&received)))) }
            return .finished(.wait(partial: received.isEmpty ? nil : .bytes(take(&received)), ready: false))
        case .error(let e):
            return .finished(.failed(SocketError(.posix(.init(rawValue: e)),
                                                 partial: received.isEmpty ? nil : .received(take(&received)))))
        }
    }

    /// What one recv(2) result means for a receive into the caller's memory (`recv(into:)`):
    /// the count written there; the end of a stream is `closed`.
    mutating func receivedInto(_ n: Int, asked: Int, flags: Int32) -> Attempt {
        switch readResult(n, asked: asked, flags: flags) {
        case .data(let count): return .done(.count(count))
        case .end:
            if type != .stream || asked == 0 { return .done(.count(0)) }
            counters.add(.readFails)
            return .failed(.closed)
        case .blocked: return .blocked
        case .error(let e): return .failed(.posix(e))
        }
    }

    /// A receive into the caller's memory: what was read ahead first (copied), then, unless a
    /// multishot receiver is armed, one recv(2) straight into `target`.
    mutating func receiveInto(_ target: UnsafeMutableRawBufferPointer, flags: Int32, force: Bool) -> Attempt {
        let oob = flags & MessageFlags.oob.rawValue != 0
        if !readAhead.isEmpty && !oob {
            let take = readAhead.copy(into: target, peek: flags & MessageFlags.peek.rawValue != 0)
            return .done(.count(take))
        }
        if receiver != nil && !oob { return .blocked }
        if let error = readError, !oob {
            readError = nil
            return .failed(error)
        }
        if drains(flags) && !mayRead && !force { return .blocked }
        counters.add(.readTries)
        return receivedInto(Syscall.recv(fd, target.baseAddress, target.count, flags), asked: target.count, flags: flags)
    }

    /// A stream receive whose time ran out, given up by its own caller, makes the kernel call
    /// it has not made since its last try, once and without waiting, so that data the kernel
    /// held before the deadline is the call's: data the backend had not reported yet (select:
    /// the epoll thread may lag behind the kernel on a loaded machine; the last read drained the
    /// socket, ``mayRead``, so the call waited to be told), or data it had reported just after
    /// the deadline woke the call (its select message came, and the call gave up instead of
    /// trying again; ``mayRead`` is set then). OTP, which always reads first, returns such data.
    /// What it reads goes in `op` (`received`, or `receivedCount` of a receive into the
    /// caller's memory), where the call's cancel takes it from; an end or an error it meets is
    /// left for the next receive (``readError``). Only the socket's current receive comes here
    /// (the rules' cancel), so no other caller's data is taken.
    mutating func lastRead(_ op: Operation) {
        guard op.kind == .recv, op.message == nil, op.cancellerTakesData, drains(op.flags),
              readAhead.isEmpty, readError == nil, receiver == nil else { return }
        let outcome: Attempt
        if let target = op.target {
            outcome = receiveInto(target, flags: op.flags, force: true)
        } else {
            outcome = receiveNow(length: op.length, flags: op.flags, received: op.received, force: true)
        }
        switch outcome {
        case .done(.count(let n)): op.receivedCount = n
        case .done(.bytes(let bytes)): op.received = bytes
        case .wait(let partial, _): if let bytes = partial?.bytes { op.received = bytes }
        case .failed(let error):
            if case .received(let bytes)? = error.partial { op.received = bytes }
            readError = SocketError(error.reason)
        default: break
        }
    }

    /// One recvmsg(2) call, non-blocking, into the message memory (recvfrom and recvmsg: one call
    /// gives one message, or what a stream has, as in Erlang).
    private mutating func receiveMessageNow(_ message: MessageIO, flags: Int32) -> Attempt {
        message.prepareReceive()
        counters.add(.readTries)
        return receivedMessage(Syscall.recvmsg(fd, message.header, flags), message)
    }

    /// What a recvmsg that returned `result` (a byte count or -errno) comes to, on either backend.
    mutating func receivedMessage(_ result: Int, _ message: MessageIO) -> Attempt {
        if result == -Int(EAGAIN) || result == -Int(EINTR) || result == -Int(ENOBUFS) { return .blocked }
        if result < 0 {
            counters.add(.readFails)
            return .failed(.posix(Int32(-result)))
        }
        if type == .stream {
            // This call does not track whether it drained the stream: the next recv tries.
            mayRead = true
            if result == 0 && message.total > 0 {
                counters.add(.readFails)
                return .failed(.closed)
            }
        }
        counters.read(result)
        return .done(.message(message.received(result)))
    }

    // MARK: Sending

    private mutating func attemptSend(_ op: Operation) -> Attempt {
        if let message = op.message { return sendMessageNow(message, flags: op.flags) }
        guard let outgoing = op.outgoing else { return .done(.bytes([])) }
        return sendNow(UnsafeRawBufferPointer(outgoing), flags: op.flags, sent: &op.outgoingSent)
    }

    /// Where a send stands after one kernel result.
    enum SendStep {
        /// Send the rest (a stream took part of it).
        case more
        /// All of it went (a non-stream socket: the one call is the package).
        case done
        /// The kernel's buffer is full.
        case blocked
        /// The call failed.
        case failed(SocketError.Reason)
    }

    /// What one send(2)/sendmsg(2) result means, from the direct call or a CQE: `n` bytes of a
    /// package of `total` went, after `sent` before. Counts `write_byte` per call and
    /// `write_pkg` once per package whose data all went (OTP).
    mutating func sent(_ n: Int, total: Int, sent: inout Int) -> SendStep {
        if n >= 0 {
            sent += n
            counters.wrote(n)
            writePackageSent += n
            if sent < total && type == .stream { return .more }
            counters.package(writePackageSent)
            writePackageSent = 0
            return .done
        }
        if n == -Int(EAGAIN) || n == -Int(EINTR) { return .blocked }
        counters.add(.writeFails)
        writePackageSent = 0
        return .failed(.posix(.init(rawValue: Int32(-n))))
    }

    /// The send loop of send(2) calls, non-blocking, from `bytes[sent...]`; a stream goes on
    /// until everything went, at most ``syscallBudget`` calls. Advances `sent`. `.done` carries
    /// what was not sent (only a non-stream socket leaves any); `.wait` the rest when part went
    /// (all of it when the budget ran out); `.failed` too.
    ///
    /// `reportRest` false: the caller tracks `sent` itself, and `.wait` carries no copy of the
    /// rest (a send from the caller's memory, `send(_: UnsafeRawBufferPointer)`).
    mutating func sendNow(_ bytes: UnsafeRawBufferPointer, flags: Int32, sent: inout Int,
                          reportRest: Bool = true) -> Attempt {
        func rest(_ sent: Int) -> [UInt8] { Array(bytes[sent...]) }
        let before = sent
        var calls = 0
        while true {
            if calls == SocketState.syscallBudget { return .wait(partial: reportRest ? .bytes(rest(sent)) : nil, ready: true) }
            counters.add(.writeTries)
            let n = Syscall.send(fd, bytes.baseAddress.map { $0 + sent }, bytes.count - sent, flags)
            calls += 1
            switch self.sent(n, total: bytes.count, sent: &sent) {
            case .more: continue
            case .done: return .done(.bytes(sent == bytes.count ? [] : rest(sent)))
            case .blocked: return .wait(partial: reportRest && sent > before ? .bytes(rest(sent)) : nil, ready: false)
            case .failed(let reason): return .failed(SocketError(reason, partial: sent > 0 ? .rest(rest(sent)) : nil))
            }
        }
    }

    /// The sendmsg(2) loop, non-blocking, from the message memory: a stream goes on until
    /// everything went (in windows of at most IOV_MAX elements), at most ``syscallBudget``
    /// calls; another socket sends once. `.done` carries the unsent rest of a non-stream message
    /// (normally none); `.wait` and `.failed` what is left when part went.
    mutating func sendMessageNow(_ message: MessageIO, flags: Int32) -> Attempt {
        var calls = 0
        let before = message.sent
        while !message.started || message.remaining > 0 {
            if calls == SocketState.syscallBudget { return .wait(partial: .iov(message.rest), ready: true) }
            message.prepareSend(iovMax: Syscall.iovMax)
            counters.add(.writeTries)
            let n = Syscall.sendmsg(fd, message.header, flags)
            calls += 1
            switch sentMessage(n, message) {
            case .more: continue
            case .done: return .done(.iov(message.remaining == 0 ? [] : message.rest))
            case .blocked: return .wait(partial: message.sent > before ? .iov(message.rest) : nil, ready: false)
            case .failed(let reason):
                return .failed(SocketError(reason, partial: message.sent > 0 ? message.restPartial : nil))
            }
        }
        return .done(.iov([]))
    }

    /// What one sendmsg(2) result means for `message` (the direct call or a CQE).
    mutating func sentMessage(_ n: Int, _ message: MessageIO) -> SendStep {
        var sentSoFar = message.sent
        let step = sent(n, total: message.total, sent: &sentSoFar)
        if n >= 0 { message.advance(by: n) }
        return step
    }

    // MARK: Accepting and connecting

    private mutating func attemptAccept() -> Attempt {
        // A connection a cancelled accept accepted after all comes first.
        if !acceptedAhead.isEmpty { return .done(.accepted(acceptedAhead.removeFirst())) }
        counters.add(.accTries)
        return acceptResult(Syscall.accept(fd))
    }

    /// What an accept4(2) result means (the direct call or a CQE).
    mutating func acceptResult(_ n: Int) -> Attempt {
        if n >= 0 {
            counters.add(.accSuccess)
            return .done(.accepted(Int32(n)))
        }
        if n == -Int(EAGAIN) || n == -Int(EINTR) { return .blocked }
        counters.add(.accFails)
        return .failed(.posix(Int32(-n)))
    }

    /// connect(2), non-blocking, on both backends alike (the completion backend then waits for
    /// writability in the ring): so a second connect after a refused one, or a connect on a
    /// connected socket, answers as the kernel and OTP do.
    private mutating func attemptConnect(_ op: Operation) -> Attempt {
        if connectInProgress { return finishConnect() }
        guard let address = op.address else { return .failed(.invalid("connect has no address")) }
        let rc = address.withMemoryRebound(to: sockaddr.self, capacity: 1) { Syscall.connect(fd, $0, op.addressLength) }
        if rc == 0 { return .done(.none) }
        if rc == -Int(EINPROGRESS) || rc == -Int(EAGAIN) {
            connectInProgress = true
            return .blocked
        }
        if rc == -Int(EALREADY) { return .failed(SocketError(.already)) }
        return .failed(.posix(Int32(-rc)))
    }

    /// Finalizes a connect in progress once the socket is writable (Erlang: `connect/1`): its
    /// outcome is the socket's pending error; with none, the connection is made unless the peer
    /// is still unknown (then it is still in progress).
    mutating func finishConnect() -> Attempt {
        let err = Syscall.socketError(fd)
        guard err == 0 else {
            connectInProgress = false
            return .failed(.posix(err))
        }
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &len) }
        }
        if rc < 0 && errno == ENOTCONN { return .blocked }
        connectInProgress = false
        return .done(.none)
    }

    // MARK: sendfile

    /// The sendfile(2) loop, non-blocking, at most ``syscallBudget`` calls: up to the operation's
    /// count, or the end of the file.
    mutating func attemptSendfile(_ op: Operation) -> Attempt {
        let startSent = op.fileSent
        var calls = 0
        while true {
            let chunk = min(op.fileRemaining ?? (1 << 30), 1 << 30)
            if chunk == 0 { return .done(.count(op.fileSent)) }
            if calls == SocketState.syscallBudget {
                return .wait(partial: op.fileSent > startSent ? .count(op.fileSent) : nil, ready: true)
            }
            counters.add(.sendfileTries)
            let n = Syscall.sendfile(fd, op.fileDescriptor, &op.fileOffset, chunk)
            calls += 1
            if n > 0 {
                op.fileSent += n
                if let r = op.fileRemaining { op.fileRemaining = r - n }
                counters.sentFile(n)
                counters.sendfileMax = max(counters.sendfileMax, UInt64(op.fileSent))
                continue
            }
            if n == 0 { return .done(.count(op.fileSent)) }
            if n == -Int(EAGAIN) {
                return .wait(partial: op.fileSent > startSent ? .count(op.fileSent) : nil, ready: false)
            }
            counters.add(.sendfileFails)
            return .failed(SocketError(.posix(.init(rawValue: Int32(-n))), partial: op.fileSent > 0 ? .sent(op.fileSent) : nil))
        }
    }
}

/// Takes the contents of `array`, leaving it empty.
@inline(__always)
func take<T>(_ array: inout [T]) -> [T] {
    let out = array
    array = []
    return out
}
