import ESock
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Tests run in parallel in one process: every check looks only at the test's own sockets,
/// selected by their owner mailbox.
@Suite(.leakChecked) struct RegistryTests {
    @Test(.requires(.ipv6), arguments: Backend.allCases)
    func whichSocketsFilters(_ backend: Backend) throws {
        let mine = Mailbox()
        defer { mine.end() }
        let tcp = try Socket.open(.inet, .stream, .tcp, backend: backend.instance(), owner: mine)
        let udp6 = try Socket.open(.inet6, .dgram, .udp, backend: backend.instance(), owner: mine)
        let local = try Socket.open(.local, .seqpacket, backend: backend.instance(), owner: mine)
        #expect(ESock.whichSockets(.owner(mine)) == [tcp, udp6, local])
        func ofMine(_ f: SocketFilter) -> [Socket] { ESock.whichSockets(f).filter { $0.owner === mine } }
        #expect(ofMine(.domain(.inet)) == [tcp])
        #expect(ofMine(.domain(.inet6)) == [udp6])
        #expect(ofMine(.domain(.local)) == [local])
        #expect(ofMine(.type(.stream)) == [tcp])
        #expect(ofMine(.type(.seqpacket)) == [local])
        #expect(ofMine(.protocol(.udp)) == [udp6])
        #expect(ESock.whichSockets(.predicate { $0.owner === mine && $0.type == .dgram }) == [udp6])
        #expect(ESock.numberOf() >= 3)
        try udp6.close()
        #expect(ESock.whichSockets(.owner(mine)) == [tcp, local])
    }

    @Test(arguments: Backend.allCases)
    func socketOutOfTheRegistryStaysOpen(_ backend: Backend) throws {
        let mine = Mailbox()
        defer { mine.end() }
        let hidden = try Socket.open(.inet, .dgram, .udp, backend: backend.instance(), owner: mine, useRegistry: false)
        let shown = try Socket.open(.inet, .dgram, .udp, backend: backend.instance(), owner: mine, useRegistry: true)
        #expect(ESock.whichSockets(.owner(mine)) == [shown])
        #expect(!ESock.whichSockets().contains(hidden))
        #expect(!hidden.useRegistry && !hidden.info().useRegistry && shown.useRegistry)
        // Not listed, yet open and usable until closed.
        try hidden.bind(.loopback(port: 0))
        try shown.connect(hidden.sockname(), timeout: .seconds(5))
        try shown.send([7, 8], timeout: .seconds(5))
        #expect(try hidden.recv(length: 0, timeout: .seconds(5)) == [7, 8])
        #expect(ESock.info().counters["num_sockets", default: 0] >= 2)
    }

    @Test(.requires(.ipv6), arguments: Backend.allCases)
    func infoNamesTheOwnerAndCountsKinds(_ backend: Backend) throws {
        let mine = Mailbox()
        defer { mine.end() }
        let s = try Socket.open(.inet6, .stream, .tcp, backend: backend.instance(), owner: mine)
        let info = s.info()
        #expect(info.owner === mine && info.ctype == "normal" && info.useRegistry)
        let counters = ESock.info().counters
        #expect(counters["num_cnt_bits"] == 64)
        for name in ["num_sockets", "num_dinet6", "num_tstreams", "num_ptcp"] {
            #expect(counters[name, default: 0] >= 1, "\(name)")
        }
        #expect(counters["num_dlocal"] != nil && counters["num_psctp"] != nil)
    }

    @Test(arguments: Backend.allCases)
    func tableShowsTheSelectedColumns(_ backend: Backend) throws {
        let mine = Mailbox()
        defer { mine.end() }
        let l = try Socket.open(.inet, .stream, .tcp, backend: backend.instance(), owner: mine)
        try l.bind(.loopback(port: 0))
        try l.listen()
        let table = ESock.table(.owner(mine), keys: [.fd, .owner, .localAddress, .state])
        let lines = table.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines.first?.hasPrefix("FD") == true && lines.first?.contains("Local Address") == true)
        #expect(lines.last?.hasPrefix("\(l.fd)") == true)
        #expect(lines.last?.contains("\(mine)") == true)
        #expect(lines.last?.contains("\(try l.sockname())") == true)
        #expect(lines.last?.contains("listening") == true)
        let all = ESock.table(.owner(mine))
        #expect(all.hasPrefix("Domain  Type    Protocol") && all.contains("Recv") && all.contains("inet"))
        #expect(ESock.i(.owner(mine), keys: [.domain]) == "Domain\ninet\n")
    }
}
