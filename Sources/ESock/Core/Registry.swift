import Synchronization

/// Every open socket of the process, for `number_of/0`, `which_sockets/0,1` and `info/0`.
///
/// Holds each registered socket from open to close, as OTP's registry does; a socket opened with
/// `use_registry` false is counted (``kinds``, for `info/0`) but not listed. The references are
/// strong on purpose: a weak reference would give every socket a side table and send every
/// retain and release of it through the runtime's slow path (measured: 10% of the select
/// server's time).
final class Registry: Sendable {
    static let shared = Registry()

    private struct Table {
        var listed: [UInt64: Socket] = [:]
        /// Open sockets per `info/0` counter name (`num_sockets`, `num_dinet`, `num_tstream`, ...).
        var kinds: [String: UInt64] = [:]
    }

    private let table = Locked(Table())

    /// The `info/0` counters a socket counts in: `num_sockets`, `num_d<domain>`, `num_t<type>`
    /// and `num_p<protocol>` (the protocol one only for a named protocol).
    static func counterNames(_ s: Socket) -> [String] {
        var names = ["num_sockets", "num_d\(s.domain)", "num_t\(s.type)"]
        if s.protocol != .default { names.append("num_p\(s.protocol)") }
        return names
    }

    /// Counts a new socket, and lists it when `listed`.
    func opened(_ socket: Socket, listed: Bool) {
        let names = Self.counterNames(socket)
        table.withLock { t in
            for n in names { t.kinds[n, default: 0] += 1 }
            if listed { t.listed[socket.id] = socket }
        }
    }

    /// Forgets a closed socket.
    func closed(_ socket: Socket) {
        let names = Self.counterNames(socket)
        table.withLock { t in
            for n in names { t.kinds[n, default: 1] -= 1 }
            t.listed.removeValue(forKey: socket.id)
        }
    }

    /// Lists an open socket or stops listing it (Erlang: `{otp, use_registry}`).
    func setListed(_ socket: Socket, _ listed: Bool) {
        table.withLock { t in
            if listed { t.listed[socket.id] = socket } else { t.listed.removeValue(forKey: socket.id) }
        }
    }

    /// The open listed sockets.
    var all: [Socket] {
        table.withLock { Array($0.listed.values) }
    }

    /// The number of open listed sockets.
    var count: Int { table.withLock { $0.listed.count } }

    /// The open sockets per counter name, listed or not.
    var kinds: [String: UInt64] { table.withLock { $0.kinds } }
}
