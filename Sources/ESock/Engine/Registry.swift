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
        /// Open sockets, listed or not, in all and per kind (for `info/0`'s counters; their
        /// names are made only when asked for, not on every open and close).
        var open = 0
        var domains: [Domain: Int] = [:]
        var types: [SocketType: Int] = [:]
        var protocols: [SocketProtocol: Int] = [:]

        mutating func count(_ s: Socket, _ delta: Int) {
            open += delta
            domains[s.domain, default: 0] += delta
            types[s.type, default: 0] += delta
            // Sockets opened with the default protocol count in no protocol counter.
            if s.protocol != .default { protocols[s.protocol, default: 0] += delta }
        }
    }

    private let table = Locked(Table())

    /// Counts a new socket, and lists it when `listed`.
    func opened(_ socket: Socket, listed: Bool) {
        table.withLock { t in
            t.count(socket, 1)
            if listed { t.listed[socket.id] = socket }
        }
    }

    /// Forgets a closed socket.
    func closed(_ socket: Socket) {
        table.withLock { t in
            t.count(socket, -1)
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

    /// The open sockets per `info/0` counter name, listed or not, under OTP's names:
    /// `num_sockets`, `num_dinet`, `num_dinet6`, `num_dlocal`, `num_tstreams`, `num_tdgrams`,
    /// `num_tseqpkgs`, `num_pip`, `num_ptcp`, `num_pudp` and `num_psctp` (each present, 0 when
    /// none). OTP counts no other domain, type or protocol; `num_sockets` counts every socket.
    var kinds: [String: UInt64] {
        table.withLock { t in
            func n<K: Hashable>(_ table: [K: Int], _ key: K) -> UInt64 { UInt64(max(table[key] ?? 0, 0)) }
            return ["num_sockets": UInt64(t.open),
                    "num_dinet": n(t.domains, .inet), "num_dinet6": n(t.domains, .inet6), "num_dlocal": n(t.domains, .local),
                    "num_tstreams": n(t.types, .stream), "num_tdgrams": n(t.types, .dgram),
                    "num_tseqpkgs": n(t.types, .seqpacket),
                    "num_pip": n(t.protocols, .ip), "num_ptcp": n(t.protocols, .tcp), "num_pudp": n(t.protocols, .udp),
                    "num_psctp": n(t.protocols, .sctp)]
        }
    }
}
