import ESock
import Testing

@Suite(.leakChecked) struct MonitorTests {
    @Test(arguments: Backend.allCases)
    func everyMonitorGetsItsOwnDownOnClose(_ backend: Backend) throws {
        let s = try Socket.open(.inet, .stream, .tcp, backend: backend.instance())
        let mb = Mailbox(), other = Mailbox()
        let r1 = s.monitor(mb), r2 = s.monitor(mb), r3 = s.monitor(other)
        #expect(r1 != r2)
        try s.close()
        var refs: [MonitorRef] = []
        for _ in 0..<2 {
            let m = try #require(mb.receive(timeout: .seconds(5)))
            guard case .down(let ds, let ref, let reason) = m else { Issue.record("expected DOWN, got \(m)"); return }
            #expect(ds == s && reason == .closed && m.handle == nil && m.socket == s)
            refs.append(ref)
        }
        #expect(refs == [r1, r2])
        guard case .down(_, let ref3, .closed)? = other.receive(timeout: .seconds(5)) else {
            Issue.record("no DOWN for the other mailbox"); return
        }
        #expect(ref3 == r3)
        #expect(mb.count == 0 && !s.cancelMonitor(r1))
    }

    @Test(arguments: Backend.allCases)
    func cancelledMonitorGetsNoDown(_ backend: Backend) throws {
        let s = try Socket.open(.inet, .dgram, .udp, backend: backend.instance())
        let mb = Mailbox()
        let cancelled = s.monitor(mb), kept = s.monitor(mb)
        #expect(s.cancelMonitor(cancelled))
        #expect(!s.cancelMonitor(cancelled))
        try s.close()
        guard case .down(_, let ref, .closed)? = mb.receive(timeout: .seconds(5)) else {
            Issue.record("no DOWN"); return
        }
        #expect(ref == kept && mb.count == 0)
    }

    @Test(arguments: Backend.allCases)
    func monitoringAClosedSocketGivesNosockAtOnce(_ backend: Backend) throws {
        let s = try Socket.open(.inet, .dgram, .udp, backend: backend.instance())
        try s.close()
        let mb = Mailbox()
        let ref = s.monitor(mb)
        guard case .down(let ds, let r, .nosock)? = mb.poll() else { Issue.record("no nosock DOWN"); return }
        #expect(ds == s && r == ref)
        #expect("\(SocketMessage.down(socket: s, monitor: ref, reason: .nosock))".hasPrefix("{'DOWN', \(ref), socket,"))
    }

    @Test(arguments: Backend.allCases)
    func ownerEndSendsDownWithOwnerEnded(_ backend: Backend) throws {
        let owner = Mailbox(), watcher = Mailbox()
        let s = try Socket.open(.inet, .stream, .tcp, backend: backend.instance(), owner: owner)
        let ref = s.monitor(watcher)
        owner.end()
        guard case .down(_, let r, .ownerEnded)? = watcher.receive(timeout: .seconds(5)) else {
            Issue.record("no owner_ended DOWN"); return
        }
        #expect(r == ref)
    }

    @Test(arguments: Backend.allCases)
    func pendingOperationIsAbortedBeforeDown(_ backend: Backend) throws {
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        let mb = Mailbox()
        let pending = try p.server.recv(length: 1, nowait: mb)
        let handle = try #require(pending.handle)
        let ref = p.server.monitor(mb)
        try p.server.close()
        guard case .abort(_, let h, _)? = mb.receive(timeout: .seconds(5)) else { Issue.record("no abort"); return }
        #expect(h == handle)
        guard case .down(_, let r, .closed)? = mb.receive(timeout: .seconds(5)) else { Issue.record("no DOWN"); return }
        #expect(r == ref)
    }
}
