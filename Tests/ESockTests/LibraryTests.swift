import ESock
import Testing

@Suite("Library-wide functions")
struct LibraryTests {
    @Test("backend info names the backend and its model", arguments: Backend.allCases)
    func backendInfo(backend: Backend) throws {
        let b = try backend.instance()
        let info = b.info()
        #expect(info.name == backend.rawValue)
        #expect(info.model == (backend == .select ? .select : .completion))
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
