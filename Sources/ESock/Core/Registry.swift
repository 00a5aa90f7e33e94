import Synchronization

/// Every open socket of the process, for `number_of/0`, `which_sockets/0,1` and `info/0`.
/// Holds sockets weakly: the registry never keeps a socket alive.
final class Registry: Sendable {
    static let shared = Registry()

    private struct Entry {
        weak var socket: Socket?
    }

    private let sockets = Mutex<[UInt64: Entry]>([:])

    func insert(_ socket: Socket) {
        sockets.withLock { $0[socket.id] = Entry(socket: socket) }
    }

    func remove(_ socket: Socket) {
        _ = sockets.withLock { $0.removeValue(forKey: socket.id) }
    }

    /// The open sockets.
    var all: [Socket] {
        sockets.withLock { $0.values.compactMap(\.socket) }
    }

    var count: Int { sockets.withLock { $0.count } }
}
