/// The open sockets of one backend and whether it still takes new ones: the part of a backend's
/// life both backends share. A backend holds its sockets strongly from attach to detach (see
/// ``Registry``), refuses new ones once it stops, and closes those still open when it stops.
final class SocketTable: Sendable {
    private struct Table {
        var sockets: [UInt64: Socket] = [:]
        var stopped = false
    }

    private let table = Locked(Table())

    /// Adds a new socket; throws `backendStopped` once the backend stopped.
    func add(_ socket: Socket, backend name: String) throws(SocketError) {
        try table.withLock { (t: inout Table) throws(SocketError) in
            guard !t.stopped else { throw SocketError(.backendStopped(name)) }
            t.sockets[socket.id] = socket
        }
    }

    /// Forgets a socket that is being closed.
    func remove(_ socket: Socket) {
        _ = table.withLock { $0.sockets.removeValue(forKey: socket.id) }
    }

    /// The socket with `id`, if it is open on this backend.
    func socket(_ id: UInt64) -> Socket? { table.withLock { $0.sockets[id] } }

    /// Looks up several sockets under one lock.
    func withSockets<R>(_ body: ([UInt64: Socket]) -> R) -> R { table.withLock { body($0.sockets) } }

    var count: Int { table.withLock { $0.sockets.count } }

    /// Whether the backend stopped taking sockets.
    var isStopped: Bool { table.withLock { $0.stopped } }

    /// The stop sequence both backends share: refuses new sockets, then closes every socket still
    /// open (their operations are aborted; on the completion backend each close waits for its
    /// operations' last completions, so the backend's thread must still run). Returns false when
    /// the backend had stopped already.
    func stop(_ driver: any PollDriver) -> Bool {
        let open: [Socket]? = table.withLock { t in
            guard !t.stopped else { return nil }
            t.stopped = true
            return t.sockets.values.sorted { $0.id < $1.id }
        }
        guard let open else { return false }
        Drivers.remove(driver)
        for s in open { try? s.close() }
        return true
    }
}
