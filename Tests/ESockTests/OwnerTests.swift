import ESock
import Testing

@Suite(.leakChecked) struct OwnerTests {
    @Test(arguments: Backend.allCases)
    func openRecordsOwnerAndEndClosesOwnedSockets(_ backend: Backend) throws {
        let owner = Mailbox()
        let a = try Socket.open(.inet, .stream, .tcp, backend: backend.instance(), owner: owner)
        let b = try Socket.open(.inet, .dgram, .udp, backend: backend.instance(), owner: owner)
        let free = try Socket.open(.inet, .dgram, .udp, backend: backend.instance())
        defer { try? free.close() }
        #expect(a.owner === owner && a.info().owner === owner)
        #expect(free.owner == nil)
        #expect(owner.ownedSockets == [a, b])
        owner.end()
        #expect(throws: SocketError.closed) { try a.close() }
        #expect(throws: SocketError.closed) { try b.close() }
        #expect(owner.ownedSockets.isEmpty)
        #expect(!ESock.whichSockets().contains(a))
        #expect(try free.sockname().port == 0)
    }

    @Test("an accepted socket belongs to the listener's owner and ends with it", arguments: Backend.allCases)
    func acceptedSocketsFollowTheListenersOwner(_ backend: Backend) throws {
        let owner = Mailbox()
        let l = try Socket.open(.inet, .stream, .tcp, backend: backend.instance(), owner: owner)
        try l.bind(.loopback(port: 0))
        try l.listen()
        let c = try Socket.open(.inet, .stream, .tcp, backend: backend.instance())
        defer { try? c.close() }
        try c.connect(l.sockname(), timeout: .seconds(5))
        let s = try l.accept(timeout: .seconds(5))
        #expect(s.owner === owner)
        #expect(owner.ownedSockets == [l, s])
        owner.end()
        #expect(throws: SocketError.closed) { try s.close() }
        // The peer sees the connection end.
        #expect(throws: SocketError.closed) { try c.recv(timeout: .seconds(5)) }
    }

    @Test(arguments: Backend.allCases)
    func onlyTheOwnerMayHandOver(_ backend: Backend) throws {
        let first = Mailbox(), second = Mailbox(), stranger = Mailbox()
        let s = try Socket.open(.inet, .stream, .tcp, backend: backend.instance(), owner: first)
        defer { try? s.close() }
        #expect(throws: SocketError.invalid("not_owner")) { try s.setControllingProcess(stranger, by: stranger) }
        #expect(s.owner === first)
        try s.setControllingProcess(second, by: first)
        #expect(s.owner === second && first.ownedSockets.isEmpty && second.ownedSockets == [s])
        // The old owner's end no longer closes it; the new owner's does.
        first.end()
        #expect(s.info().readable)
        second.end()
        #expect(!s.info().readable)
        #expect(throws: SocketError.closed) { try s.setControllingProcess(first, by: second) }
    }

    @Test(arguments: Backend.allCases)
    func aSocketWithoutOwnerMayBeClaimed(_ backend: Backend) throws {
        let s = try Socket.open(.inet, .dgram, .udp, backend: backend.instance())
        defer { try? s.close() }
        let claimer = Mailbox()
        try s.setControllingProcess(claimer, by: claimer)
        #expect(s.owner === claimer)
        claimer.end()
        #expect(throws: SocketError.closed) { try s.close() }
    }

    /// An owner ends only explicitly: dropping every reference of one's own to it closes
    /// nothing (no deinit does I/O); its sockets keep it, and `end()` closes them.
    @Test(arguments: Backend.allCases)
    func anOwnerEndsOnlyWhenItIsEnded(_ backend: Backend) throws {
        let watcher = Mailbox()
        var s: Socket?
        do {
            let owner = Mailbox()
            s = try Socket.open(.inet, .stream, .tcp, backend: backend.instance(), owner: owner)
            _ = s?.monitor(watcher)
        }
        let socket = try #require(s)
        #expect(watcher.receive(timeout: .zero) == nil)
        #expect(ESock.whichSockets().contains(socket))
        let owner = try #require(socket.owner)
        owner.end()
        let m = try #require(watcher.receive(timeout: .seconds(5)))
        guard case .down(let ds, _, let reason) = m else { Issue.record("expected DOWN, got \(m)"); return }
        #expect(ds == socket && reason == .ownerEnded)
        #expect(throws: SocketError.closed) { try socket.close() }
    }
}
