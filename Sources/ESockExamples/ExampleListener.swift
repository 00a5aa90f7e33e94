import ESock

/// Opens a TCP listener on 127.0.0.1:`port` (0: any free port) for the example servers
/// (Erlang: `socket:open/3`, `setopt(S, {socket, reuseaddr}, true)`, `bind/2`, `listen/2`).
///
/// `owner` becomes the listener's controlling process; the connections it accepts belong to
/// the same owner, so `owner.end()` closes the listener and every connection at once.
func openLoopbackListener(port: UInt16, backend: (any IOBackend)?, owner: Mailbox? = nil) throws(SocketError) -> Socket {
    let listener = try Socket.open(.inet, .stream, .tcp, backend: backend, owner: owner)
    do {
        try listener.setopt(.socket(.reuseaddr), .bool(true))
        try listener.bind(.loopback(port: port))
        try listener.listen(backlog: 1024)
    } catch {
        try? listener.close()
        throw error
    }
    return listener
}

/// Accepts connections on `listener` until it is closed (Erlang: `socket:accept/1` in a loop),
/// and serves each in a task of its own (`serve` closes it); returns when the listener is
/// closed and every connection's task has ended. The tasks run on the caller's executor
/// preference, as child tasks do.
func serveConnections(of listener: Socket, _ serve: @escaping @Sendable (Socket) async -> Void) async {
    await withDiscardingTaskGroup { group in
        while true {
            let connection: Socket
            do {
                connection = try await listener.accept()
            } catch let error as SocketError where error.reason == .closed {
                return
            } catch {
                continue  // The client gave up before the accept (ECONNABORTED), or similar.
            }
            group.addTask { await serve(connection) }
        }
    }
}
