import ESock
import Testing
#if canImport(Glibc)
import Glibc
#endif


/// Waits (at most five seconds) until `events` are pending on `fd`; true when they are.
private func waitFor(_ fd: Int32, _ events: Int16) -> Bool {
    var p = pollfd(fd: fd, events: events, revents: 0)
    return poll(&p, 1, 5000) == 1 && p.revents & events != 0
}

/// Expects `body` to throw `invalid`.
private func expectInvalid(_ what: Comment, sourceLocation: SourceLocation = #_sourceLocation,
                           _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("\(what): no error", sourceLocation: sourceLocation)
    } catch {
        guard let error = error as? SocketError, case .invalid = error.reason else {
            Issue.record("\(what): \(error), not invalid", sourceLocation: sourceLocation)
            return
        }
    }
}

@Suite(.leakChecked) struct IoctlTests {
    @Test(arguments: Backend.allCases)
    func loopbackInterfaceIsDescribed(_ backend: Backend) throws {
        let s = try Socket.open(.inet, .dgram, .udp, backend: backend.instance())
        defer { try? s.close() }
        let conf = try #require(try s.ioctl(.gifconf).interfaces)
        #expect(conf.contains(InterfaceAddress(name: "lo", address: .inet(.loopback, port: 0))), "\(conf)")
        let index = try #require(try s.ioctl(.gifindex, interface: "lo").int)
        #expect(index == Int(if_nametoindex("lo")))
        #expect(try s.ioctl(.gifname, interface: .index(Int32(index))) == .name("lo"))
        #expect(try s.ioctl(.gifaddr, interface: "lo") == .address(.inet(.loopback, port: 0)))
        #expect(try s.ioctl(.gifnetmask, interface: "lo") == .address(.inet(IPv4Address(255, 0, 0, 0), port: 0)))
        #expect(try #require(try s.ioctl(.gifmtu, interface: "lo").int) > 0)
        #expect(try #require(try s.ioctl(.giftxqlen, interface: "lo").int) >= 0)
        let flags = try #require(try s.ioctl(.gifflags, interface: "lo").flags)
        #expect(flags.isSuperset(of: [.up, .loopback, .running]), "\(flags)")
        #expect(flags.names.starts(with: ["up", "loopback"]))
        let hw = try #require(try s.ioctl(.gifhwaddr, interface: "lo").hardwareAddress)
        #expect(hw.family == HardwareAddress.loopback && hw.family == 772 && hw.bytes == [0, 0, 0, 0, 0, 0])
    }

    @Test(arguments: Backend.allCases)
    func queuesAndTheMark(_ backend: Backend) throws {
        let pair = try connectedPair(on: backend)
        defer { pair.closeAll() }
        #expect(try pair.server.ioctl(.nread) == .int(0))
        #expect(try #require(try pair.client.ioctl(.nwrite).int) >= 0)
        #expect(try pair.server.ioctl(.atmark) == .bool(false))
        try pair.client.send(pattern(1000), timeout: .seconds(5))
        #expect(waitFor(pair.server.fd, Int16(POLLIN)))
        #expect(try pair.server.ioctl(.nread) == .int(1000))
        // Read it all: the mark lies after ordinary data, and atmark is true only on it.
        #expect(try recvAll(pair.server, 1000) == pattern(1000))
        try pair.client.send([42], flags: .oob, timeout: .seconds(5))
        #expect(waitFor(pair.server.fd, Int16(POLLPRI)))
        #expect(try pair.server.ioctl(.atmark) == .bool(true))
        #expect(try pair.server.recv(length: 1, flags: .oob, timeout: .seconds(5)) == [42])
        // The sent data was acknowledged (it was read): nothing is left to send.
        #expect(try #require(try pair.client.ioctl(.nwrite).int) >= 0)
    }

    @Test(arguments: Backend.allCases)
    func tcpInfoOfAConnection(_ backend: Backend) throws {
        let pair = try connectedPair(on: backend)
        defer { pair.closeAll() }
        let info = try #require(try pair.client.ioctl(.tcpInfo).tcpInfo)
        #expect(info.stateName == "established" && info.state == 1)
        #expect(info.sndMss > 0 && info.pmtu > 0)
        #expect(try pair.listener.ioctl(.tcpInfo).tcpInfo?.stateName == "listen")
        let udp = try Socket.open(.inet, .dgram, .udp, backend: backend.instance())
        defer { try? udp.close() }
        #expect(throws: SocketError.posix(EOPNOTSUPP)) { try udp.ioctl(.tcpInfo) }
    }

    @Test(arguments: Backend.allCases)
    func badInputIsRefused(_ backend: Backend) throws {
        let s = try Socket.open(.inet, .dgram, .udp, backend: backend.instance())
        #expect(throws: SocketError.posix(ENODEV)) { try s.ioctl(.gifmtu, interface: "esocknosuchif") }
        expectInvalid("40-character name") { _ = try s.ioctl(.gifflags, interface: .name(String(repeating: "x", count: 40))) }
        expectInvalid("16-byte name") { _ = try s.ioctl(.gifmtu, interface: .name(String(repeating: "y", count: 16))) }
        expectInvalid("empty name") { _ = try s.ioctl(.gifindex, interface: "") }
        expectInvalid("name with a zero") { _ = try s.ioctl(.gifaddr, interface: "l\u{0}o") }
        expectInvalid("negative index") { _ = try s.ioctl(.gifname, interface: -1) }
        expectInvalid("gifname by name") { _ = try s.ioctl(.gifname, interface: "lo") }
        expectInvalid("gifmtu by index") { _ = try s.ioctl(.gifmtu, interface: 1) }
        expectInvalid("nread with an interface") { _ = try s.ioctl(.nread, interface: "lo") }
        expectInvalid("gifmtu without one") { _ = try s.ioctl(.gifmtu) }
        expectInvalid("sifmtu as a get") { _ = try s.ioctl(.sifmtu, interface: "lo") }
        expectInvalid("sifmtu with an address") { try s.ioctl(.sifmtu, interface: "lo", value: .address(.loopback(port: 0))) }
        expectInvalid("sifmtu negative") { try s.ioctl(.sifmtu, interface: "lo", value: .int(-1)) }
        expectInvalid("sifaddr with inet6") { try s.ioctl(.sifaddr, interface: "lo", value: .address(.inet6(.loopback, port: 0))) }
        expectInvalid("sifflags lower_up") { try s.ioctl(.sifflags, interface: "lo", value: .flags([.lowerUp: true])) }
        expectInvalid("gifmtu as a set") { try s.ioctl(.gifmtu, interface: "lo", value: .int(1)) }
        #expect(throws: SocketError(.notSupported)) { try s.ioctl(.nspace) }
        #expect(throws: SocketError(.notSupported)) { try s.ioctl(.rcvall, value: .bool(true)) }
        expectInvalid("rcvall without a value") { _ = try s.ioctl(.rcvall) }
        try s.close()
        #expect(throws: SocketError.closed) { try s.ioctl(.nread) }
        #expect(throws: SocketError.closed) { try s.ioctl(.gifmtu, interface: "lo") }
        #expect(throws: SocketError.closed) { try s.ioctl(.sifmtu, interface: "lo", value: .int(1500)) }
    }

    @Test func requestsAndFlagsSpellErlang() {
        #expect(IoctlRequest(rawValue: "tcp_info") == .tcpInfo && IoctlRequest.rcvallMcall.rawValue == "rcvall_mcall")
        #expect(IoctlRequest.allCases.filter { !$0.isSupported } == [.nspace, .rcvall, .rcvallIgmpmcall, .rcvallMcall])
        #expect(IoctlRequest.gifname.form == .getInterface && IoctlRequest.sifflags.form == .setInterface)
        let flags = InterfaceFlags(rawValue: 0x1 | 0x8 | 0x40 | 0x80_0000 | 0x100_0000 | 0x10000)
        #expect(flags.flags == [.up, .loopback, .running, .lowerUp])
        #expect(flags.names == ["up", "loopback", "running", "lower_up", String(0x180_0000)])
        #expect(flags.unknownBits == 0x180_0000 && flags.description == "[up, loopback, running, lower_up, 25165824]")
        #expect(TCPInfo(bytes: [UInt8](repeating: 0, count: 103)) == nil)
        let base = TCPInfo(bytes: [1, 0, 0, 0, 0, 0, 0x75] + [UInt8](repeating: 0, count: 97))
        #expect(base?.stateName == "established" && base?.sndWscale == 5 && base?.rcvWscale == 7 && base?.pacingRate == nil)
    }

    @Test(.requires(.netns), arguments: Backend.allCases)
    func setsInterfaceParametersInANamespace(_ backend: Backend) throws {
        let io = try backend.instance()
        let name = "esock-ioctl-\(getpid())-\(backend.rawValue)"
        let namespace = try #require(TestNamespace(name), "ip netns add \(name) failed")
        defer { namespace.delete() }
        let s = try Socket.open(.inet, .dgram, .udp, netns: namespace.path, backend: io)
        defer { try? s.close() }
        // A new namespace's loopback is down and has no address.
        #expect(try s.ioctl(.gifflags, interface: "lo").flags?.contains(.up) == false)
        #expect(throws: SocketError.posix(EADDRNOTAVAIL)) { try s.ioctl(.gifaddr, interface: "lo") }

        try s.ioctl(.sifmtu, interface: "lo", value: .int(1500))
        #expect(try s.ioctl(.gifmtu, interface: "lo") == .int(1500))
        try s.ioctl(.siftxqlen, interface: "lo", value: .int(123))
        #expect(try s.ioctl(.giftxqlen, interface: "lo") == .int(123))
        try s.ioctl(.sifflags, interface: "lo", value: .flags([.up: true, .promisc: true]))
        let up = try #require(try s.ioctl(.gifflags, interface: "lo").flags)
        #expect(up.isSuperset(of: [.up, .promisc, .loopback]), "\(up)")
        try s.ioctl(.sifflags, interface: "lo", value: .flags([.promisc: false]))
        let after = try #require(try s.ioctl(.gifflags, interface: "lo").flags)
        #expect(after.contains(.up) && !after.contains(.promisc), "\(after)")

        let address = SocketAddress.inet(IPv4Address(10, 9, 8, 7), port: 0)
        try s.ioctl(.sifaddr, interface: "lo", value: .address(address))
        #expect(try s.ioctl(.gifaddr, interface: "lo") == .address(address))
        let mask = SocketAddress.inet(IPv4Address(255, 255, 0, 0), port: 0)
        try s.ioctl(.sifnetmask, interface: "lo", value: .address(mask))
        #expect(try s.ioctl(.gifnetmask, interface: "lo") == .address(mask))
        #expect(try s.ioctl(.gifconf).interfaces == [InterfaceAddress(name: "lo", address: address)])

        // The host's loopback is untouched.
        let host = try Socket.open(.inet, .dgram, .udp, backend: io)
        defer { try? host.close() }
        #expect(try host.ioctl(.gifaddr, interface: "lo") == .address(.inet(.loopback, port: 0)))
        #expect(try host.ioctl(.gifmtu, interface: "lo") != .int(1500))
    }
}
