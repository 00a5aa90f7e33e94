extension Socket {
    /// Cancels an asynchronous operation that answered `.select` (Erlang: `cancel(Socket, SelectInfo)`).
    ///
    /// Removes it, and any message for its handle still in its mailbox; the next queued caller
    /// gets its turn. Throws ``SocketError/Reason/invalid(_:)`` when no such operation is in
    /// progress. The caller of a select-backend operation holds what it has still to send, so
    /// nothing comes back.
    public func cancel(_ info: SelectInfo) throws(SocketError) {
        _ = try cancelOperation(tag: info.tag, handle: info.handle, what: "select info \(info.tag) \(info.handle)")
    }

    /// Cancels an asynchronous operation that answered `.completion`
    /// (Erlang: `cancel(Socket, CompletionInfo)`; C: `IORING_OP_ASYNC_CANCEL`).
    ///
    /// Returns when the kernel has finished with the operation, with what it had moved by then:
    /// for a send, the data it did not send (``SocketError/Partial/rest(_:)``; for a sendv, the
    /// part of the vector, ``SocketError/Partial/restIOV(_:)``); for a sendfile,
    /// the bytes it sent (``SocketError/Partial/sent(_:)``); for a receive or an accept nothing
    /// (what it received, or the connection it accepted, before the cancel reached it is kept for
    /// the next receive or accept, so nothing is lost). No message for the handle is delivered
    /// afterwards (OTP 27). Throws ``SocketError/Reason/invalid(_:)`` when no such operation is in
    /// progress (it may have completed: then its message is in the mailbox).
    @discardableResult
    public func cancel(_ info: CompletionInfo) throws(SocketError) -> SocketError.Partial? {
        let op = try cancelOperation(tag: info.tag, handle: info.handle, what: "completion info \(info.tag) \(info.handle)")
        switch op.kind {
        case .send, .sendfile: return op.movedPartial
        case .recv, .accept, .connect: return nil
        }
    }
}
