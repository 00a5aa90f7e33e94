import Synchronization

/// Every open socket of the process, for `number_of/0`, `which_sockets/0,1` and `info/0`.
///
/// Holds each socket from open to close, as OTP's registry does. The references are strong on
/// purpose: a weak reference would give every socket a side table and send every retain and
/// release of it through the runtime's slow path (measured: 10% of the select server's time).
final class Registry: Sendable {
    static let shared = Registry()

    private let sockets = Locked<[UInt64: Socket]>([:])

    func insert(_ socket: Socket) {
        sockets.withLock { $0[socket.id] = socket }
    }

    func remove(_ socket: Socket) {
        _ = sockets.withLock { $0.removeValue(forKey: socket.id) }
    }

    /// The open sockets.
    var all: [Socket] {
        sockets.withLock { Array($0.values) }
    }

    var count: Int { sockets.withLock { $0.count } }
}
