#if canImport(Glibc)
import Glibc
#endif

extension Socket {
    /// Makes one attempt at an operation's kernel call, non-blocking. Called with the state
    /// locked, so that readiness seen by the backend cannot slip in between a failed attempt
    /// and the operation's registration as waiting.
    func attempt(_ op: Operation, _ st: inout SocketState) -> Attempt {
        switch op.kind {
        case .recv: return attemptRecv(op, &st)
        case .send: return attemptSend(op, &st)
        case .accept: return attemptAccept(op, &st)
        case .connect: return attemptConnect(op, &st)
        case .sendfile: return attemptSendfile(op, &st)
        }
    }

    private func attemptRecv(_ op: Operation, _ st: inout SocketState) -> Attempt {
        st.counters.add(.readTries)
        // A message a cancelled recvfrom or recvmsg received after all comes first.
        if !st.messagesAhead.isEmpty {
            let message = st.messagesAhead.removeFirst()
            return .done(op.message == nil ? .bytes(message.data) : .message(message))
        }
        if let message = op.message {
            if !st.readAhead.isEmpty {
                let data = Array(st.readAhead.prefix(max(message.total, 1)))
                st.readAhead.removeFirst(data.count)
                return .done(.message(Msg(iov: [data])))
            }
            return receiveMessageNow(op, message, &st)
        }
        // Data a cancelled completion-backend recv received after all comes first.
        if !st.readAhead.isEmpty {
            let take = op.length == 0 ? st.readAhead.count : min(st.readAhead.count, op.length - op.received.count)
            op.received += st.readAhead.prefix(take)
            st.readAhead.removeFirst(take)
            if op.length == 0 || op.received.count == op.length {
                let data = op.received
                op.received = []
                return .done(.bytes(data))
            }
        }
        let result = receiveNow(length: op.length, flags: op.flags, received: &op.received, &st)
        // Select backend: what came so far goes back to the caller with the select answer;
        // completion backend: the operation keeps it and asks the kernel for the rest.
        if case .wait = result, backend.model == .select {
            let partial = op.received
            op.received = []
            return .wait(partial: partial.isEmpty ? nil : .bytes(partial))
        }
        return result
    }

    /// The receive loop of recv(2) calls, non-blocking: `length` 0 takes what one call gives, at
    /// most `{otp, rcvbuf}` bytes (on a stream, up to its count of such calls while each fills
    /// its buffer); on a stream, `length` N calls until N bytes came. Appends to `received`;
    /// `.done` hands all of it over, `.wait` leaves what came in `received`. Skips the call when
    /// the last one drained the socket (see `SocketState.mayRead`).
    func receiveNow(length: Int, flags: Int32, received: inout [UInt8], _ st: inout SocketState) -> Attempt {
        let isStream = type == .stream
        let scratch = Scratch.buffer
        // Whether a short read means the receive queue is empty (see `SocketState.mayRead`).
        let drains = isStream && flags & MessageFlags.peek.rawValue == 0 && !st.urgentSeen && !st.hangupSeen
        let chunk = min(Scratch.size, st.recvBufferSize)
        var reads = 0
        while true {
            let want = length == 0 ? chunk : min(Scratch.size, length - received.count)
            let n = drains && !st.mayRead ? -Int(EAGAIN) : Syscall.recv(fd, scratch, want, flags)
            reads += 1
            if n > 0 {
                st.counters.read(n)
                if drains && n < want { st.mayRead = false }
                if received.isEmpty {
                    // One allocation of the exact size (this form is specialized for UInt8; the
                    // unsafeUninitializedCapacity one looks the storage type up at run time).
                    received = Array(UnsafeRawBufferPointer(start: scratch, count: n))
                } else {
                    received += UnsafeRawBufferPointer(start: scratch, count: n)
                }
                // A stream read of length 0 that filled its buffer reads again, up to the count.
                let gatherMore = length == 0 && isStream && n == want && reads < st.recvBufferCount
                if (length == 0 && !gatherMore) || !isStream || received.count == length {
                    let data = received
                    received = []
                    return .done(.bytes(data))
                }
                continue
            }
            if n == 0 {
                let data = received
                received = []
                if !isStream || (length == 0 && !data.isEmpty) { return .done(.bytes(data)) }
                return .failed(SocketError(.closed, partial: data.isEmpty ? nil : .received(data)))
            }
            if n == -Int(EAGAIN) {
                if drains { st.mayRead = false }
                // Gathering reads of length 0: what came is the answer.
                if length == 0 && !received.isEmpty {
                    let data = received
                    received = []
                    return .done(.bytes(data))
                }
                return .wait(partial: nil)
            }
            st.counters.add(.readFails)
            let data = received
            received = []
            return .failed(SocketError(.posix(.init(rawValue: Int32(-n))), partial: data.isEmpty ? nil : .received(data)))
        }
    }

    /// One recvmsg(2) call, non-blocking, into the operation's message memory (recvfrom and
    /// recvmsg: one call gives one message, or what a stream has, as in Erlang).
    private func receiveMessageNow(_ op: Operation, _ message: MessageIO, _ st: inout SocketState) -> Attempt {
        message.prepareReceive()
        return receivedMessage(message, result: Syscall.recvmsg(fd, message.header, op.flags), &st)
    }

    /// What a recvmsg that returned `result` (a byte count or -errno) comes to, on either backend.
    func receivedMessage(_ message: MessageIO, result: Int, _ st: inout SocketState) -> Attempt {
        if result == -Int(EAGAIN) { return .wait(partial: nil) }
        if result < 0 {
            st.counters.add(.readFails)
            return .failed(.posix(Int32(-result)))
        }
        if type == .stream {
            // This call does not track whether it drained the stream: the next recv tries.
            st.mayRead = true
            if result == 0 && message.total > 0 { return .failed(.closed) }
        }
        st.counters.read(result)
        return .done(.message(message.received(result)))
    }

    /// The sendmsg(2) loop, non-blocking, from the operation's message memory: a stream goes on
    /// until everything went (in windows of at most IOV_MAX elements); another socket sends once.
    /// `.done` carries the unsent rest of a non-stream message (normally none); `.wait` and
    /// `.failed` what is left when part went.
    func sendMessageNow(_ message: MessageIO, flags: Int32, _ st: inout SocketState) -> Attempt {
        while !message.started || message.remaining > 0 {
            message.prepareSend(iovMax: Syscall.iovMax)
            let n = Syscall.sendmsg(fd, message.header, flags)
            if n >= 0 {
                message.advance(by: n)
                st.counters.wrote(n)
                if type != .stream { break }
                continue
            }
            if n == -Int(EAGAIN) { return .wait(partial: message.sent > 0 ? .iov(message.rest) : nil) }
            st.counters.add(.writeFails)
            let rest = message.sent > 0 ? SocketError.Partial.rest(Array(message.rest.joined())) : nil
            return .failed(SocketError(.posix(.init(rawValue: Int32(-n))), partial: rest))
        }
        return .done(.iov(message.remaining == 0 ? [] : message.rest))
    }

    private func attemptSend(_ op: Operation, _ st: inout SocketState) -> Attempt {
        st.counters.add(.writeTries)
        if let message = op.message { return sendMessageNow(message, flags: op.flags, &st) }
        guard let outgoing = op.outgoing else { return .done(.bytes([])) }
        return sendNow(UnsafeRawBufferPointer(outgoing), flags: op.flags, sent: &op.outgoingSent, &st)
    }

    /// The send loop of send(2) calls, non-blocking, from `bytes[sent...]`; a stream goes on
    /// until everything went. Advances `sent`. `.done` carries what was not sent (only a
    /// non-stream socket leaves any); `.wait` carries the rest when part went; `.failed` too.
    func sendNow(_ bytes: UnsafeRawBufferPointer, flags: Int32, sent: inout Int, _ st: inout SocketState) -> Attempt {
        while sent < bytes.count {
            let n = Syscall.send(fd, bytes.baseAddress! + sent, bytes.count - sent, flags)
            if n >= 0 {
                sent += n
                st.counters.wrote(n)
                if type != .stream { break }
                continue
            }
            if n == -Int(EAGAIN) {
                return .wait(partial: sent > 0 ? .bytes(Array(bytes[sent...])) : nil)
            }
            st.counters.add(.writeFails)
            return .failed(SocketError(.posix(.init(rawValue: Int32(-n))), partial: sent > 0 ? .rest(Array(bytes[sent...])) : nil))
        }
        return .done(.bytes(sent == bytes.count ? [] : Array(bytes[sent...])))
    }

    private func attemptAccept(_ op: Operation, _ st: inout SocketState) -> Attempt {
        st.counters.add(.accTries)
        if !st.acceptedAhead.isEmpty { return adoptAccepted(st.acceptedAhead.removeFirst(), &st) }
        let n = Syscall.accept(fd)
        if n >= 0 { return adoptAccepted(Int32(n), &st) }
        if n == -Int(EAGAIN) { return .wait(partial: nil) }
        st.counters.add(.accFails)
        return .failed(.posix(Int32(-n)))
    }

    private func attemptConnect(_ op: Operation, _ st: inout SocketState) -> Attempt {
        // The completion backend leaves the whole connect to the kernel.
        if backend.model == .completion { return .wait(partial: nil) }
        if st.connectInProgress {
            // Finalizing after the select message (Erlang: connect/1).
            let err = Syscall.socketError(fd)
            if err == 0 {
                var storage = sockaddr_storage()
                var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
                let rc = withUnsafeMutablePointer(to: &storage) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &len) }
                }
                if rc < 0 && errno == ENOTCONN { return .wait(partial: nil) }
                st.connectInProgress = false
                return .done(.none)
            }
            st.connectInProgress = false
            return .failed(.posix(err))
        }
        guard let address = op.address else { return .failed(.invalid("connect has no address")) }
        let rc = address.withMemoryRebound(to: sockaddr.self, capacity: 1) { Syscall.connect(fd, $0, op.addressLength) }
        if rc == 0 { return .done(.none) }
        if rc == -Int(EINPROGRESS) || rc == -Int(EAGAIN) {
            st.connectInProgress = true
            return .wait(partial: nil)
        }
        if rc == -Int(EALREADY) { return .failed(SocketError(.already)) }
        return .failed(.posix(Int32(-rc)))
    }

    private func attemptSendfile(_ op: Operation, _ st: inout SocketState) -> Attempt {
        st.counters.add(.sendfileTries)
        let startSent = op.fileSent
        while true {
            let chunk = min(op.fileRemaining ?? (1 << 30), 1 << 30)
            if chunk == 0 { return .done(.count(op.fileSent)) }
            let n = Syscall.sendfile(fd, op.fileDescriptor, &op.fileOffset, chunk)
            if n > 0 {
                op.fileSent += n
                if let r = op.fileRemaining { op.fileRemaining = r - n }
                st.counters.sentFile(n)
                st.counters.sendfileMax = max(st.counters.sendfileMax, UInt64(op.fileSent))
                continue
            }
            if n == 0 { return .done(.count(op.fileSent)) }
            if n == -Int(EAGAIN) {
                let moved = op.fileSent - startSent
                return .wait(partial: moved > 0 ? .count(op.fileSent) : nil)
            }
            st.counters.add(.sendfileFails)
            return .failed(SocketError(.posix(.init(rawValue: Int32(-n))), partial: op.fileSent > 0 ? .sent(op.fileSent) : nil))
        }
    }
}
