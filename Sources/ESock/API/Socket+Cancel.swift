extension Socket {
    /// Cancels an asynchronous operation that answered `.select` (Erlang: `cancel(Socket, SelectInfo)`).
    ///
    /// Removes it, and any message for its handle still in its mailbox; the next queued caller
    /// gets its turn. Throws ``SocketError/Reason/invalid(_:)`` when no such operation is in progress.
    public func cancel(_ info: SelectInfo) throws(SocketError) {
        _ = try cancelOperation(tag: info.tag, handle: info.handle, what: "select info \(info.tag) \(info.handle)")
    }

    /// Cancels an asynchronous operation that answered `.completion`
    /// (Erlang: `cancel(Socket, CompletionInfo)`).
    ///
    /// Returns when the kernel has finished with the operation. If the operation completed in the
    /// kernel before the cancel reached it, what it received is kept for the next receive (an
    /// accepted connection for the next accept), so nothing is lost; no message for the handle is
    /// delivered afterwards. Throws ``SocketError/Reason/invalid(_:)`` when no such operation is in
    /// progress (it may have completed: then its message is in the mailbox).
    public func cancel(_ info: CompletionInfo) throws(SocketError) {
        _ = try cancelOperation(tag: info.tag, handle: info.handle, what: "completion info \(info.tag) \(info.handle)")
    }
}
