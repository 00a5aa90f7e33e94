#if canImport(Glibc)
import Glibc
#endif

/// The select model's rules (OTP's Unix `essio`): an operation that cannot finish waits for
/// readiness; its caller gets a select message and calls again, with the data still to send
/// and having taken the data received so far. Nothing is handed to the kernel, so nothing is
/// cancelled there.
///
/// One instance per backend, a class (as ``CompletionRules``): every socket's state holds it as
/// its `any IOModelRules`, two words with a class, five with a struct.
final class SelectRules: IOModelRules, Sendable {
    /// The backend's epoll instance, which watches the sockets.
    let epoll: EpollInstance

    init(epoll: EpollInstance) { self.epoll = epoll }

    var model: IOModel { .select }
    var callsAgain: Bool { true }

    func answer(_ op: Operation, partial: consuming OperationValue?) -> Pending<OperationValue> {
        .select(op.selectInfo, partial: partial)
    }

    /// The operation waits for the socket's next readiness event. When its attempt stopped with
    /// the socket still ready (its syscall budget ran out) the select message goes out at once:
    /// the caller continues after the others waiting in its mailbox.
    func wait(_ op: Operation, partial: OperationValue?, ready: Bool, _ st: inout SocketState,
              _ fx: inout Effects) throws(SocketError) {
        try epoll.watch(&st)
        op.enter(.waiting)
        if ready { Self.notify(op, &fx) }
    }

    /// The next caller in the queue gets its select message when the socket is ready for its
    /// operation: at once if it is ready now (the kernel says so), else with the next readiness
    /// event (OTP: the next reader or writer is selected, not told to go).
    func takeTurn(_ op: Operation, _ st: inout SocketState, _ fx: inout Effects) -> Bool {
        do {
            try epoll.watch(&st)
        } catch {
            fx.append(.notify(op, .abort(socket: op.socket, handle: op.handle, reason: error)))
            return false
        }
        op.enter(.waiting)
        if Self.readyNow(st.fd, for: op.kind) { Self.notify(op, &fx) }
        return true
    }

    /// Nothing is in the kernel: the operation is cancelled at once. A receive whose time ran
    /// out first reads what the epoll thread may not have reported yet, or reported only after
    /// the deadline woke the call (``SocketState/lastRead(_:)``); one cancelled otherwise
    /// (`cancel/2`, its task cancelled) leaves what the kernel holds for the next receive.
    func cancel(_ op: Operation, timedOut: Bool, _ st: inout SocketState, _ fx: inout Effects) -> Bool {
        if timedOut { st.lastRead(op) }
        return false
    }

    func abort(_ op: Operation, _ st: inout SocketState, _ fx: inout Effects) -> Bool { false }

    func closing(_ st: inout SocketState, _ fx: inout Effects) {}

    /// Sends the select message to `op`, which is waiting.
    static func notify(_ op: Operation, _ fx: inout Effects) {
        op.enter(.notified)
        fx.append(.notify(op, .select(socket: op.socket, handle: op.handle)))
    }

    /// Whether an operation of `kind` on `fd` can proceed now (poll(2) with no wait).
    static func readyNow(_ fd: Int32, for kind: Operation.Kind) -> Bool {
        let events: Int16
        switch kind {
        case .accept: events = Int16(POLLIN)
        case .recv: events = Int16(POLLIN | POLLPRI)
        case .send, .sendfile, .connect: events = Int16(POLLOUT)
        }
        var pfd = pollfd(fd: fd, events: events, revents: 0)
        guard poll(&pfd, 1, 0) > 0 else { return false }
        // A hang-up or an error lets a reader or writer through (it gets the end or the error);
        // an acceptor waits for a connection.
        let through = kind == .accept ? Int16(POLLIN | POLLERR) : events | Int16(POLLERR | POLLHUP)
        return pfd.revents & through != 0
    }
}
