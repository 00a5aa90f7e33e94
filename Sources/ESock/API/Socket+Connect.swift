#if canImport(Glibc)
import Glibc
#endif

extension Socket {
    /// Connects without waiting (Erlang: `connect(Socket, SockAddr, nowait | Handle)`).
    ///
    /// Returns `.done` when connected at once. Select backend: `.select`, and after the select
    /// message ``connect()`` finalizes the connection. Completion backend: `.completion`, and the
    /// completion message says ``CompletionStatus/connected`` or why it failed. Throws
    /// ``SocketError/Reason/already`` when another caller's connect is in progress.
    public func connect(_ address: SocketAddress, nowait mailbox: Mailbox, handle: Handle? = nil) throws(SocketError) -> Pending<Void> {
        let op = Operation(.connect, tag: .connect, handle: handle ?? .make(), mailbox: mailbox, socket: self)
        let storage = UnsafeMutablePointer<sockaddr_storage>.allocate(capacity: 1)
        op.address = storage
        op.addressLength = try address.encode(into: &storage.pointee)
        switch try start(op) {
        case .done: return .done(())
        case .select(let info, _): return .select(info, partial: nil)
        case .completion(let info): return .completion(info)
        }
    }

    /// Finalizes a connect that answered `.select`, after its select message (Erlang: `connect/1`).
    public func connect() throws(SocketError) {
        let pending = try state.withLock { (st: inout SocketState) throws(SocketError) -> Operation? in
            guard !st.closed else { throw .closed }
            return st.connectors.current
        }
        guard let op = pending, backend.model == .select else {
            throw .invalid("no connect to finalize")
        }
        switch try start(Operation(.connect, tag: .connect, handle: op.handle, mailbox: op.mailbox, socket: self)) {
        case .done: return
        case .select, .completion: throw .posix(EINPROGRESS)
        }
    }

    /// Connects to `address`, waiting at most `timeout` (Erlang: `connect/2,3`). After a timeout
    /// the connection state is uncertain: close the socket and start over.
    public func connect(_ address: SocketAddress, timeout: Timeout = .infinity) throws(SocketError) {
        let deadline = timeout.deadline()
        let mailbox = PrivateMailbox.current
        let handle = Handle.make()
        switch try connect(address, nowait: mailbox, handle: handle) {
        case .done: return
        case .select, .completion: break
        }
        while true {
            switch try waitFor(handle, .connect, in: mailbox, until: deadline) {
            case .retry:
                let op = Operation(.connect, tag: .connect, handle: handle, mailbox: mailbox, socket: self)
                switch try start(op) {
                case .done: return
                case .select, .completion: continue
                }
            case .completed(.connected): return
            case .completed(.failed(let e)): throw e
            case .completed(let other): throw .invalid("connect completed with \(other)")
            }
        }
    }
}
