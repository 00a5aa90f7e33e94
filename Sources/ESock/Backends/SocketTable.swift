import CESockShims

/// The open sockets of one backend and whether it still takes new ones: the part of a backend's
/// life both backends share. A backend holds its sockets strongly from attach to detach (see
/// ``Registry``), refuses new ones once it stops, and closes those still open when it stops.
final class SocketTable: Sendable {
    /// A socket's place in the table: the socket, and how many sockets have held the place
    /// before it (so that a key of a socket that left never finds the one that took its place).
    fileprivate struct Slot {
        var socket: Socket?
        var generation: UInt32 = 0
    }

    private struct Table {
        /// Every place, held or free. (A socket's place is found by its key, which the socket
        /// keeps: no dictionary by id, which cost ~26 bytes per socket at 10,000 and a hashing
        /// on every open and close.)
        var slots: [Slot] = []
        /// Places free for the next socket: every place not in it holds a socket.
        var free: [Int] = []
        var stopped = false
        /// Why new sockets are refused before the backend stopped (its ring failed).
        var refusal: String?
    }

    private let table = Locked(Table())

    /// Adds a new socket; throws `backendStopped` once the backend stopped. Returns the socket's
    /// key in this table (never 0): what the backend gives the kernel to name the socket in its
    /// events (the epoll data), and looks it up by (``withSockets(_:)``) in one array access,
    /// with no hashing.
    @discardableResult
    func add(_ socket: Socket, backend name: String) throws(SocketError) -> UInt64 {
        try table.withLock { (t: inout Table) throws(SocketError) -> UInt64 in
            guard !t.stopped else { throw SocketError(.backendStopped(name)) }
            if let refusal = t.refusal { throw SocketError(.backendStopped(refusal)) }
            let place: Int
            if let reused = t.free.popLast() {
                place = reused
            } else {
                place = t.slots.count
                t.slots.append(Slot())
            }
            t.slots[place].socket = socket
            return Self.key(place, t.slots[place].generation)
        }
    }

    /// Forgets a socket that is being closed, given the key ``add(_:backend:)`` returned for
    /// it; its key finds nothing from now on. A key that does not name `socket` (removed
    /// already, never added, made up) changes nothing.
    func remove(_ socket: Socket, key: UInt64) {
        table.withLock { t in
            guard let place = Self.place(of: key, in: t.slots), t.slots[place].socket === socket else { return }
            t.slots[place].socket = nil
            t.slots[place].generation &+= 1
            t.free.append(place)
        }
    }

    /// A backend's attach of a new socket: ``add(_:backend:)``, and the key kept in the
    /// socket's state (``SocketState/eventKey``) for the socket's events and its ``detach(_:)``.
    func attach(_ socket: Socket, backend name: String) throws(SocketError) {
        let key = try add(socket, backend: name)
        socket.state.withLock { $0.eventKey = key }
    }

    /// A backend's detach of a socket that is being closed: ``remove(_:key:)`` with the key its
    /// attach kept.
    func detach(_ socket: Socket) {
        remove(socket, key: socket.state.withLock { $0.eventKey })
    }

    /// Looks several sockets up by their keys under one lock: `body` gets the lookup.
    func withSockets<R>(_ body: (Lookup) -> R) -> R {
        table.withLock { t in body(Lookup(slots: t.slots)) }
    }

    /// Finds sockets by their keys (see ``add(_:backend:)``); nil for a socket that left.
    struct Lookup {
        fileprivate let slots: [Slot]

        subscript(key: UInt64) -> Socket? {
            guard let place = SocketTable.place(of: key, in: slots) else { return nil }
            return slots[place].socket
        }

        /// Asks the CPU to fetch the first `lines` cache lines of the object of the socket `key`
        /// names while the events before it are handled: at 10,000 connections each is a cold
        /// cache line per event. Does nothing for a key that names no socket.
        @inline(__always)
        func prefetch(key: UInt64, lines: Int32) {
            guard let place = SocketTable.place(of: key, in: slots), let s = slots[place].socket else { return }
            esock_prefetch_lines(Unmanaged.passUnretained(s).toOpaque(), lines)
        }

        /// Every socket in the table.
        var all: [Socket] { slots.compactMap(\.socket) }
    }

    /// The place `key` names in `slots`, if it is one and its generation is the place's now.
    private static func place(of key: UInt64, in slots: [Slot]) -> Int? {
        let place = Int(truncatingIfNeeded: key & 0xffff_ffff) &- 1
        guard place >= 0, place < slots.count, slots[place].generation == UInt32(truncatingIfNeeded: key >> 32) else {
            return nil
        }
        return place
    }

    /// The key of place `place` held for the `generation`-th time: place + 1 in the low half
    /// (so never 0), the generation in the high half.
    private static func key(_ place: Int, _ generation: UInt32) -> UInt64 {
        UInt64(generation) << 32 | UInt64(place + 1)
    }

    var count: Int { table.withLock { $0.slots.count - $0.free.count } }

    /// Refuses new sockets from now on, with `reason` in their `backendStopped` error, and keeps
    /// those open (the completion backend whose ring failed: their calls still work, what
    /// waits in the kernel fails); ``stop(_:)`` still closes them.
    func refuse(_ reason: String) {
        table.withLock { $0.refusal = reason }
    }

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
            return t.slots.compactMap(\.socket).sorted { $0.id < $1.id }
        }
        guard let open else { return false }
        Drivers.remove(driver)
        for s in open { try? s.close() }
        return true
    }
}
