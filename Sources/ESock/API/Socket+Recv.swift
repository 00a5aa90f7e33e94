extension Socket {
    /// Receives without waiting (Erlang: `recv(Socket, Length, Flags, nowait | Handle)`).
    ///
    /// `length` 0 means whatever is available; on a stream, `length` N asks for exactly N bytes.
    /// Returns `.done` with data at once; select backend: `.select`, with the data that came so
    /// far as `partial` when a stream had fewer than `length` bytes (call again for the rest after
    /// the select message); completion backend: `.completion`, and the message carries all the
    /// data (``CompletionStatus/received(_:)``). A stream whose peer closed fails with
    /// ``SocketError/Reason/closed``.
    public func recv(length: Int = 0, flags: MessageFlags = [], nowait mailbox: Mailbox,
                     handle: Handle? = nil) throws(SocketError) -> Pending<[UInt8]> {
        guard length >= 0 else { throw .invalid("length \(length)") }
        let op = Operation(.recv, tag: .recv, handle: handle ?? .make(), mailbox: mailbox, socket: self)
        op.length = length
        op.flags = flags.rawValue
        switch try start(op) {
        case .done(.bytes(let d)): return .done(d)
        case .done: return .done([])
        case .select(let info, .bytes(let d)?): return .select(info, partial: d)
        case .select(let info, _): return .select(info, partial: nil)
        case .completion(let info): return .completion(info)
        }
    }

    /// Receives, waiting at most `timeout` (Erlang: `recv/1,2,3,4`).
    ///
    /// `length` 0 returns the first data that arrives; on a stream, `length` N waits for N bytes.
    /// On timeout or error after some data arrived, the error carries it
    /// (``SocketError/Partial/received(_:)``).
    public func recv(length: Int = 0, flags: MessageFlags = [], timeout: Timeout = .infinity) throws(SocketError) -> [UInt8] {
        let deadline = timeout.deadline()
        let mailbox = PrivateMailbox.current
        var data: [UInt8] = []
        while true {
            let handle = Handle.make()
            let pending: Pending<[UInt8]>
            do throws(SocketError) {
                pending = try recv(length: length == 0 ? 0 : length - data.count, flags: flags, nowait: mailbox, handle: handle)
            } catch {
                throw error.prepending(received: data)
            }
            switch pending {
            case .done(let d): return data + d
            case .select(_, let partial): data += partial ?? []
            case .completion: break
            }
            do throws(SocketError) {
                let dataAtCancel = { (op: Operation) -> SocketError.Partial? in
                    op.received.isEmpty ? nil : .received(op.received)
                }
                switch try waitFor(handle, .recv, in: mailbox, until: deadline, cancelled: dataAtCancel) {
                case .retry: continue
                case .completed(.received(let d)): return data + d
                case .completed(.failed(let e)): throw e
                case .completed(let other): throw .invalid("recv completed with \(other)")
                }
            } catch {
                throw error.prepending(received: data)
            }
        }
    }
}
