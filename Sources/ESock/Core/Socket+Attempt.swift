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
        st.counters.readTries &+= 1
        let isStream = type == .stream
        // Data a cancelled completion-backend recv received after all comes first.
        if !st.readAhead.isEmpty {
            let take = op.length == 0 ? st.readAhead.count : min(st.readAhead.count, op.length - op.received.count)
            op.received += st.readAhead.prefix(take)
            st.readAhead.removeFirst(take)
            if op.length == 0 || op.received.count == op.length { return finishRecv(op) }
        }
        let scratch = Scratch.buffer
        // Whether a short read means the receive queue is empty (see `SocketState.mayRead`).
        let drains = isStream && op.flags & MessageFlags.peek.rawValue == 0 && !st.urgentSeen
        while true {
            let want = op.length == 0 ? Scratch.size : min(Scratch.size, op.length - op.received.count)
            let n = drains && !st.mayRead ? -Int(EAGAIN) : Syscall.recv(fd, scratch, want, op.flags)
            if n > 0 {
                st.counters.read(n)
                if drains && n < want { st.mayRead = false }
                op.received += UnsafeRawBufferPointer(start: scratch, count: n)
                if op.length == 0 || !isStream || op.received.count == op.length { return finishRecv(op) }
                continue
            }
            if n == 0 {
                if !isStream { return finishRecv(op) }
                let partial: SocketError.Partial? = op.received.isEmpty ? nil : .received(op.received)
                op.received = []
                return .failed(SocketError(.closed, partial: partial))
            }
            if n == -Int(EAGAIN) {
                if drains { st.mayRead = false }
                // Select backend: what came so far goes back to the caller with the select answer;
                // completion backend: the operation keeps it and asks the kernel for the rest.
                if backend.model == .select {
                    let partial = op.received
                    op.received = []
                    return .wait(partial: partial.isEmpty ? nil : .bytes(partial))
                }
                return .wait(partial: nil)
            }
            st.counters.readFails &+= 1
            let partial: SocketError.Partial? = op.received.isEmpty ? nil : .received(op.received)
            op.received = []
            return .failed(SocketError(.posix(.init(rawValue: Int32(-n))), partial: partial))
        }
    }

    private func finishRecv(_ op: Operation) -> Attempt {
        let data = op.received
        op.received = []
        return .done(.bytes(data))
    }

    private func attemptSend(_ op: Operation, _ st: inout SocketState) -> Attempt {
        st.counters.writeTries &+= 1
        while op.unsent.count > 0 {
            let chunk = op.unsent
            let n = Syscall.send(fd, chunk.baseAddress, chunk.count, op.flags)
            if n >= 0 {
                op.outgoingSent += n
                st.counters.wrote(n)
                if type != .stream { break }
                continue
            }
            if n == -Int(EAGAIN) {
                let rest = Array(op.unsent)
                return .wait(partial: op.outgoingSent > 0 ? .bytes(rest) : nil)
            }
            st.counters.writeFails &+= 1
            return .failed(SocketError(.posix(.init(rawValue: Int32(-n))), partial: op.outgoingSent > 0 ? .rest(Array(op.unsent)) : nil))
        }
        return .done(.bytes(Array(op.unsent)))
    }

    private func attemptAccept(_ op: Operation, _ st: inout SocketState) -> Attempt {
        st.counters.accTries &+= 1
        if !st.acceptedAhead.isEmpty { return adoptAccepted(st.acceptedAhead.removeFirst(), &st) }
        let n = Syscall.accept(fd)
        if n >= 0 { return adoptAccepted(Int32(n), &st) }
        if n == -Int(EAGAIN) { return .wait(partial: nil) }
        st.counters.accFails &+= 1
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
        st.counters.sendfileTries &+= 1
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
            st.counters.sendfileFails &+= 1
            return .failed(SocketError(.posix(.init(rawValue: Int32(-n))), partial: op.fileSent > 0 ? .sent(op.fileSent) : nil))
        }
    }
}
