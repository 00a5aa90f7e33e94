import ESock
import Testing

@Suite("Library-wide functions", .leakChecked)
struct LibraryTests {
    @Test("backend info names the backend and its model", arguments: Backend.allCases)
    func backendInfo(backend: Backend) throws {
        let b = try backend.instance()
        let info = b.info()
        #expect(info.name == backend.name)
        #expect(info.model == backend.model)
        #expect(info.threads == 1)
        #expect(!info.counters.isEmpty)
    }

    @Test("number_of and which_sockets see open sockets", arguments: Backend.allCases)
    func registry(backend: Backend) throws {
        let s = try Socket.open(.inet, .stream, .tcp, backend: backend.instance())
        #expect(ESock.whichSockets().contains(s))
        #expect(ESock.numberOf() >= 1)
        #expect(ESock.whichSockets { $0.type == .stream && $0 == s }.count == 1)
        let info = ESock.info()
        #expect(info.counters["num_sockets", default: 0] >= 1)
        #expect(info.iovMax >= 16)
        try s.close()
        #expect(!ESock.whichSockets().contains(s))
    }

    @Test("handles are unique")
    func handles() {
        let hs = (0..<1000).map { _ in Handle.make() }
        #expect(Set(hs).count == 1000)
    }

    @Test("timeouts: a mailbox receive with a timeout returns nil when nothing comes")
    func mailboxTimeout() {
        let mb = Mailbox()
        #expect(mb.receive(timeout: .milliseconds(10)) == nil)
        #expect(mb.receive(timeout: .zero) == nil)
        #expect(mb.poll() == nil)
    }
}

@Suite("Socket info", .leakChecked)
struct SocketInfoTests {
    @Test("info(socket) reports kind, queues and states", arguments: Backend.allCases)
    func socketInfo(backend: Backend) throws {
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        let li = p.listener.info()
        #expect(li.rstates.contains("listening") && li.domain == .inet && li.type == .stream && li.protocol == .tcp)
        #expect(li.ctype == "normal" && li.backend == backend.name)
        let a = Mailbox(), b = Mailbox()
        _ = try p.server.recv(nowait: a)
        _ = try p.server.recv(nowait: b)
        let si = p.server.info()
        #expect(si.numReaders == 2 && si.numWriters == 0 && si.rstates.contains("reading"))
        #expect(si.readable && si.writable)
        try p.client.shutdown(.write)
        #expect(!p.client.info().writable && p.client.info().readable)
        try p.server.close()
        let ci = p.server.info()
        #expect(!ci.readable && !ci.writable && ci.numReaders == 0 && ci.rstates.contains("closed"))
    }
}
