import ESock
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Two datagram sockets bound to loopback (any port), on `backend`.
func udpPair(on backend: Backend, _ domain: Domain = .inet) throws -> (Socket, Socket) {
    let address = loopbackAnyPort(domain)
    let a = try Socket.open(domain, .dgram, .udp, backend: backend.instance())
    let b = try Socket.open(domain, .dgram, .udp, backend: backend.instance())
    try a.bind(address)
    try b.bind(address)
    return (a, b)
}

/// An abstract local address unique to this test and backend.
func abstractAddress(_ name: String, _ backend: Backend) -> SocketAddress {
    .local(path: [0] + Array("esock-\(getpid())-\(backend.rawValue)-\(name)".utf8))
}

/// setsockopt(2) of an Int32 value, for options the tests need before #5's setopt.
func setIntOption(_ s: Socket, _ level: Int32, _ name: Int32, _ value: Int32) throws {
    var v = value
    if setsockopt(s.fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size)) != 0 {
        throw SocketError.posix(errno)
    }
}

/// The control message of `level`/`type` in `msg`, or a recorded issue.
func control(_ msg: Msg, _ level: SocketLevel, _ type: Int32,
             sourceLocation: SourceLocation = #_sourceLocation) throws -> ControlMessage {
    try #require(msg.control.first { $0.level == level && $0.type == type },
                 "no control message \(level)/\(type) in \(msg.control)", sourceLocation: sourceLocation)
}

/// SCM_CREDENTIALS (Glibc hides it behind _GNU_SOURCE in Swift).
let scmCredentials: Int32 = 2

func int32(_ bytes: [UInt8], at offset: Int = 0) -> Int32 {
    bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: Int32.self) }
}

@Suite("Datagrams and messages: recvfrom, sendto, recvmsg, sendmsg", .leakChecked)
struct DatagramTests {
    @Test("UDP echo over IPv4 and IPv6 with sendto/recvfrom", arguments: Backend.allCases)
    func udpEcho(backend: Backend) throws {
        for domain in [Domain.inet, .inet6] {
            if domain == .inet6, Machine.lacks(.ipv6Loopback, skipping: "the IPv6 echo") { continue }
            let (a, b) = try udpPair(on: backend, domain)
            defer { try? a.close(); try? b.close() }
            let request = pattern(1200, seed: 7)
            #expect(try a.sendto(request, to: b.sockname(), timeout: .seconds(5)).isEmpty)
            let (source, data) = try b.recvfrom(timeout: .seconds(5))
            #expect(data == request)
            #expect(source == (try a.sockname()))
            try b.sendto(data, to: #require(source), timeout: .seconds(5))
            let (back, echoed) = try a.recvfrom(bufferSize: 2000, timeout: .seconds(5))
            #expect(echoed == request)
            #expect(back == (try b.sockname()))
            #expect(a.counters.writePkg == 1 && a.counters.writeByte == 1200)
            #expect(b.counters.readPkg == 1 && b.counters.readByte == 1200)
        }
    }

    @Test("an IPv4 datagram to a dual-stack IPv6 socket comes from a v4-mapped address", .requires(.ipv6),
          arguments: Backend.allCases)
    func v4Mapped(backend: Backend) throws {
        let six = try Socket.open(.inet6, .dgram, .udp, backend: backend.instance())
        let four = try Socket.open(.inet, .dgram, .udp, backend: backend.instance())
        defer { try? six.close(); try? four.close() }
        try setIntOption(six, Int32(IPPROTO_IPV6), IPV6_V6ONLY, 0)
        try six.bind(.inet6(.any, port: 0))
        try four.bind(.loopback(port: 0))
        let port = try #require(six.sockname().port)
        try four.sendto([1, 2, 3], to: .loopback(port: port), timeout: .seconds(5))
        let (source, data) = try six.recvfrom(timeout: .seconds(5))
        #expect(data == [1, 2, 3])
        let mapped = IPv6Address(v4Mapped: .loopback)
        #expect(mapped.bytes == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1])
        #expect(mapped.v4Mapped == .loopback && IPv6Address.loopback.v4Mapped == nil)
        #expect(source == .inet6(mapped, port: try #require(four.sockname().port)))
        // And back: sending to the v4-mapped address reaches the IPv4 socket.
        try six.sendto([4], to: #require(source), timeout: .seconds(5))
        #expect(try four.recvfrom(timeout: .seconds(5)).data == [4])
    }

    @Test("a datagram longer than the buffer is truncated; recvmsg says so", arguments: Backend.allCases)
    func truncation(backend: Backend) throws {
        let (a, b) = try udpPair(on: backend)
        defer { try? a.close(); try? b.close() }
        let target = try b.sockname()
        try a.sendto(pattern(100), to: target, timeout: .seconds(5))
        let msg = try b.recvmsg(bufferSize: 10, timeout: .seconds(5))
        #expect(msg.data == Array(pattern(100).prefix(10)))
        #expect(msg.flags.contains(.trunc))
        #expect(msg.address == (try a.sockname()))
        try a.sendto(pattern(100), to: target, timeout: .seconds(5))
        #expect(try b.recvfrom(bufferSize: 10, timeout: .seconds(5)).data.count == 10)
        // With MSG_TRUNC asked for, the datagram's real length is counted.
        try a.sendto(pattern(100), to: target, timeout: .seconds(5))
        let real = try b.recvmsg(bufferSize: 10, flags: .trunc, timeout: .seconds(5))
        #expect(real.data.count == 10 && real.flags.contains(.trunc))
        #expect(b.counters.readByte == 10 + 10 + 100)
        // An empty datagram is a message, not end of file.
        try a.sendto([], to: target, timeout: .seconds(5))
        let empty = try b.recvfrom(timeout: .seconds(5))
        #expect(try empty.data.isEmpty && empty.source == a.sockname())
    }

    @Test("nowait recvfrom and recvmsg: select, completion, cancel and abort", arguments: Backend.allCases)
    func nowait(backend: Backend) throws {
        let (a, b) = try udpPair(on: backend)
        defer { try? a.close(); try? b.close() }
        let mailbox = Mailbox()
        let pending = try b.recvfrom(nowait: mailbox)
        try a.sendto([9, 9], to: b.sockname(), timeout: .seconds(5))
        switch pending {
        case .done: Issue.record("nothing was sent yet")
        case .select(let info, _):
            #expect(backend.model == .select && info.tag == .recvfrom)
            guard case .select = try expectMessage(mailbox, info.handle) else { Issue.record("no select message"); return }
            guard case .done(let (source, data)) = try b.recvfrom(nowait: mailbox) else { Issue.record("no data after select"); return }
            #expect(try data == [9, 9] && source == a.sockname())
        case .completion(let info):
            #expect(backend.model == .completion && info.tag == .recvfrom)
            let m = try expectMessage(mailbox, info.handle)
            guard case .completion(_, _, .receivedFrom(let source, let data)) = m else { Issue.record("got \(m)"); return }
            #expect(try data == [9, 9] && source == a.sockname())
        }
        #expect(b.counters.readWaits == 1)

        // Cancel: no message follows, and the next datagram is not lost.
        let second = try b.recvmsg(nowait: mailbox)
        switch second {
        case .select(let info, _): try b.cancel(info)
        case .completion(let info): try b.cancel(info)
        case .done: Issue.record("nothing was sent")
        }
        try a.sendto([1], to: b.sockname(), timeout: .seconds(5))
        #expect(try b.recvmsg(timeout: .seconds(5)).data == [1])
        #expect(mailbox.receive(timeout: .zero) == nil)

        // Close with a receive pending: abort(closed).
        let third = try a.recvmsg(nowait: mailbox)
        try a.close()
        let abort = try expectMessage(mailbox, third.handle)
        guard case .abort(_, _, let reason) = abort else { Issue.record("got \(abort)"); return }
        #expect(reason == .closed)
    }

    @Test("blocking recvfrom times out; async recvfrom/sendto/recvmsg/sendmsg", arguments: Backend.allCases)
    func timeoutsAndAsync(backend: Backend) async throws {
        let (a, b) = try udpPair(on: backend)
        defer { try? a.close(); try? b.close() }
        #expect(throws: SocketError.timeout) { try b.recvfrom(timeout: .milliseconds(20)) }
        #expect(throws: SocketError.timeout) { try b.recvmsg(timeout: .zero) }
        let target = try b.sockname()
        async let got = b.recvfrom()
        try await a.sendto([5, 6], to: target)
        let (source, data) = try await got
        #expect(try data == [5, 6] && source == a.sockname())
        async let msg = b.recvmsg()
        try await a.sendmsg(Msg(address: target, iov: [[1], [2, 3]]))
        #expect(try await msg.iov == [[1, 2, 3]])
        // A cancelled async receive throws cancelled and leaves no operation behind.
        let task = Task { try await b.recvfrom() }
        task.cancel()
        await #expect(throws: SocketError.self) { try await task.value }
        try await a.sendto([7], to: target, timeout: .seconds(5))
        #expect(try await b.recvfrom(timeout: .seconds(5)).data == [7])
    }

    @Test("sendmsg: I/O vectors on a stream, beyond IOV_MAX, and refused on a datagram socket", arguments: Backend.allCases)
    func sendmsgIOV(backend: Backend) throws {
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        #expect(try p.client.sendmsg(Msg(iov: [[1, 2], [], [3, 4, 5]]), timeout: .seconds(5)).isEmpty)
        #expect(try recvAll(p.server, 5) == [1, 2, 3, 4, 5])
        let iovMax = ESock.info().iovMax
        let many = (0..<(iovMax + 5)).map { [UInt8(truncatingIfNeeded: $0)] }
        let wait = onThread { try p.client.sendmsg(Msg(iov: many), timeout: .seconds(10)) }
        #expect(try recvAll(p.server, many.count) == many.map { $0[0] })
        try wait()
        // A large vector that fills the socket buffers: partial sends are continued.
        let big = (0..<64).map { pattern(16384, seed: $0) }
        let wait2 = onThread { try p.client.sendmsg(Msg(iov: big), timeout: .seconds(10)) }
        #expect(try recvAll(p.server, 64 * 16384) == Array(big.joined()))
        try wait2()
        // recvmsg on a stream gives what is there.
        try p.server.send([7, 8, 9], timeout: .seconds(5))
        var got: [UInt8] = []
        while got.count < 3 { got += try p.client.recvmsg(timeout: .seconds(5)).data }
        #expect(got == [7, 8, 9])

        let (a, b) = try udpPair(on: backend)
        defer { try? a.close(); try? b.close() }
        #expect(throws: SocketError.self) { try a.sendmsg(Msg(address: try b.sockname(), iov: many), timeout: .seconds(1)) }
        try a.sendmsg(Msg(address: try b.sockname(), iov: [[1], [2]]), timeout: .seconds(5))
        #expect(try b.recvmsg(timeout: .seconds(5)).data == [1, 2])
    }

    @Test("bad input: wrong family, bad sizes, oversized local path", arguments: Backend.allCases)
    func badInput(backend: Backend) throws {
        let (a, _b) = try udpPair(on: backend)
        defer { try? a.close(); try? _b.close() }
        #expect(throws: SocketError.self) { try a.sendto([1], to: .inet6(.loopback, port: 9), timeout: .seconds(1)) }
        #expect(throws: SocketError.self) { try a.sendto([1], to: .local(String(repeating: "x", count: 200)), timeout: .seconds(1)) }
        #expect(throws: SocketError.self) { try a.recvfrom(bufferSize: -1, timeout: .zero) }
        #expect(throws: SocketError.self) { try a.recvmsg(bufferSize: 1, controlSize: -5, timeout: .zero) }
        #expect(throws: SocketError.self) { try a.sendto([1], to: .native(family: 12345, bytes: [1, 2, 3]), timeout: .seconds(1)) }
        // The socket still works.
        try a.sendto([1], to: try _b.sockname(), timeout: .seconds(5))
        #expect(try _b.recvfrom(timeout: .seconds(5)).data == [1])
    }

    @Test("local datagrams on abstract addresses carry the sender's address", arguments: Backend.allCases)
    func abstractLocal(backend: Backend) throws {
        let a = try Socket.open(.local, .dgram, backend: backend.instance())
        let b = try Socket.open(.local, .dgram, backend: backend.instance())
        defer { try? a.close(); try? b.close() }
        let aAddress = abstractAddress("dgram-a", backend), bAddress = abstractAddress("dgram-b", backend)
        try a.bind(aAddress)
        try b.bind(bAddress)
        #expect(try b.sockname() == bAddress)
        try a.sendto(Array("hi".utf8), to: bAddress, timeout: .seconds(5))
        let (source, data) = try b.recvfrom(timeout: .seconds(5))
        #expect(data == Array("hi".utf8))
        #expect(source == aAddress)
    }

    @Test("seqpacket keeps message boundaries", arguments: Backend.allCases)
    func seqpacket(backend: Backend) throws {
        let l = try Socket.open(.local, .seqpacket, backend: backend.instance())
        let address = abstractAddress("seqpacket", backend)
        try l.bind(address)
        try l.listen()
        let c = try Socket.open(.local, .seqpacket, backend: backend.instance())
        try c.connect(address, timeout: .seconds(5))
        let s = try l.accept(timeout: .seconds(5))
        defer { for x in [c, s, l] { try? x.close() } }
        try c.send(pattern(10), timeout: .seconds(5))
        try c.sendmsg(Msg(iov: [pattern(12), pattern(8, seed: 3)]), timeout: .seconds(5))
        try c.send(pattern(30), timeout: .seconds(5))
        #expect(try s.recv(timeout: .seconds(5)) == pattern(10))
        #expect(try s.recvmsg(timeout: .seconds(5)).data == pattern(12) + pattern(8, seed: 3))
        let cut = try s.recvmsg(bufferSize: 5, timeout: .seconds(5))
        #expect(cut.data == pattern(5) && cut.flags.contains(.trunc))
        // The cut message's tail is gone; the next message starts clean.
        try c.send([42], timeout: .seconds(5))
        #expect(try s.recv(timeout: .seconds(5)) == [42])
    }

    @Test("descriptors pass over a local socket and work", arguments: Backend.allCases)
    func rights(backend: Backend) throws {
        let a = try Socket.open(.local, .dgram, backend: backend.instance())
        let b = try Socket.open(.local, .dgram, backend: backend.instance())
        defer { try? a.close(); try? b.close() }
        let bAddress = abstractAddress("rights", backend)
        try b.bind(bAddress)
        // A pipe: its write end travels, the test reads what the received copy writes.
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        defer { close(ends[0]) }
        try a.sendmsg(Msg(address: bAddress, iov: [[1]], control: [.rights([ends[1]])]), timeout: .seconds(5))
        close(ends[1])
        let msg = try b.recvmsg(timeout: .seconds(5))
        let rights = try control(msg, .socket, Int32(SCM_RIGHTS))
        #expect(rights.name == "rights")
        guard case .rights(let fds)? = rights.value, fds.count == 1 else { Issue.record("rights value: \(rights)"); return }
        let received = fds[0]
        #expect(received >= 0)
        var byte: UInt8 = 77
        #expect(write(received, &byte, 1) == 1)
        close(received)
        var got: UInt8 = 0
        #expect(read(ends[0], &got, 1) == 1)
        #expect(got == 77)
    }

    @Test("credentials of the sending process", arguments: Backend.allCases)
    func credentials(backend: Backend) throws {
        let a = try Socket.open(.local, .dgram, backend: backend.instance())
        let b = try Socket.open(.local, .dgram, backend: backend.instance())
        defer { try? a.close(); try? b.close() }
        let bAddress = abstractAddress("creds", backend)
        try b.bind(bAddress)
        try setIntOption(b, SOL_SOCKET, SO_PASSCRED, 1)
        try a.sendto([1], to: bAddress, timeout: .seconds(5))
        let msg = try b.recvmsg(timeout: .seconds(5))
        let creds = try control(msg, .socket, scmCredentials)
        #expect(int32(creds.data, at: 0) == getpid())
        #expect(creds.value == .credentials(Credentials(pid: getpid(), uid: getuid(), gid: getgid())))
        // Sent explicitly, the kernel checks them and passes them on.
        let mine = Credentials(pid: getpid(), uid: getuid(), gid: getgid())
        try a.sendmsg(Msg(address: bAddress, iov: [[2]], control: [.credentials(mine)]), timeout: .seconds(5))
        #expect(try control(b.recvmsg(timeout: .seconds(5)), .socket, scmCredentials).value == .credentials(mine))
    }

    @Test("ip pktinfo, ttl and tos; ipv6 pktinfo, hoplimit and tclass", arguments: Backend.allCases)
    func ipControl(backend: Backend) throws {
        let (a, b) = try udpPair(on: backend)
        defer { try? a.close(); try? b.close() }
        try setIntOption(b, Int32(IPPROTO_IP), IP_PKTINFO, 1)
        try setIntOption(b, Int32(IPPROTO_IP), IP_RECVTTL, 1)
        try setIntOption(b, Int32(IPPROTO_IP), IP_RECVTOS, 1)
        try setIntOption(b, Int32(IPPROTO_IP), 20, 1) // IP_RECVORIGDSTADDR
        try setIntOption(b, SOL_SOCKET, 29, 1)         // SO_TIMESTAMP
        var before = timeval()
        gettimeofday(&before, nil)
        try setIntOption(a, Int32(IPPROTO_IP), IP_TTL, 42)
        try setIntOption(a, Int32(IPPROTO_IP), IP_TOS, 0x10)
        try a.sendto([1], to: b.sockname(), timeout: .seconds(5))
        let msg = try b.recvmsg(timeout: .seconds(5))
        #expect(int32(try control(msg, .ip, IP_TTL).data) == 42)
        #expect(try control(msg, .ip, IP_TOS).data.first == 0x10)
        let info = try control(msg, .ip, IP_PKTINFO).data // in_pktinfo: ifindex, spec_dst, addr
        #expect(Array(info[8..<12]) == [127, 0, 0, 1])
        #expect(int32(info) == 1) // lo
        #expect(try control(msg, .ip, IP_TTL).value == .ttl(42))
        #expect(try control(msg, .ip, 20).value == .origdstaddr(b.sockname()))
        guard case .timestamp(let stamp)? = try control(msg, .socket, 29).value else { Issue.record("no timestamp"); return }
        #expect(stamp.seconds >= Int64(before.tv_sec) && stamp.seconds <= Int64(before.tv_sec) + 60)
        #expect(try control(msg, .ip, IP_TOS).value == .tos(.lowdelay))
        #expect(try control(msg, .ip, IP_PKTINFO).value == .pktinfo(IPPacketInfo(ifindex: 1, specDst: .loopback, addr: .loopback)))
        // The same values set per datagram by control messages sent with it.
        try a.sendmsg(Msg(address: b.sockname(), iov: [[3]], control: [.ttl(33), .tos(.throughput)]), timeout: .seconds(5))
        let perDatagram = try b.recvmsg(timeout: .seconds(5))
        #expect(try control(perDatagram, .ip, IP_TTL).value == .ttl(33))
        #expect(try control(perDatagram, .ip, IP_TOS).value == .tos(.throughput))

        if Machine.lacks(.ipv6Loopback, skipping: "the IPv6 control messages") { return }
        let (c, d) = try udpPair(on: backend, .inet6)
        defer { try? c.close(); try? d.close() }
        try setIntOption(d, Int32(IPPROTO_IPV6), IPV6_RECVPKTINFO, 1)
        try setIntOption(d, Int32(IPPROTO_IPV6), IPV6_RECVHOPLIMIT, 1)
        try setIntOption(d, Int32(IPPROTO_IPV6), IPV6_RECVTCLASS, 1)
        try setIntOption(c, Int32(IPPROTO_IPV6), IPV6_UNICAST_HOPS, 7)
        try setIntOption(c, Int32(IPPROTO_IPV6), IPV6_TCLASS, 0x20)
        try c.sendto([2], to: d.sockname(), timeout: .seconds(5))
        let msg6 = try d.recvmsg(timeout: .seconds(5))
        #expect(int32(try control(msg6, .ipv6, IPV6_HOPLIMIT).data) == 7)
        #expect(int32(try control(msg6, .ipv6, IPV6_TCLASS).data) == 0x20)
        let info6 = try control(msg6, .ipv6, IPV6_PKTINFO).data // in6_pktinfo: addr, ifindex
        #expect(Array(info6[0..<16]) == IPv6Address.loopback.bytes)
        #expect(try control(msg6, .ipv6, IPV6_HOPLIMIT).value == .hoplimit(7))
        #expect(try control(msg6, .ipv6, IPV6_TCLASS).value == .tclass(0x20))
        guard case .ipv6PacketInfo(let p6)? = try control(msg6, .ipv6, IPV6_PKTINFO).value else { Issue.record("no ipv6 pktinfo value"); return }
        #expect(p6.addr == .loopback && p6.ifindex == 1)
        try c.sendmsg(Msg(address: d.sockname(), iov: [[4]], control: [.hoplimit(9), .tclass(0x40)]), timeout: .seconds(5))
        let perDatagram6 = try d.recvmsg(timeout: .seconds(5))
        #expect(try control(perDatagram6, .ipv6, IPV6_HOPLIMIT).value == .hoplimit(9))
        #expect(try control(perDatagram6, .ipv6, IPV6_TCLASS).value == .tclass(0x40))
    }

    @Test("a small control buffer is reported as ctrunc", arguments: Backend.allCases)
    func controlTruncation(backend: Backend) throws {
        let (a, b) = try udpPair(on: backend)
        defer { try? a.close(); try? b.close() }
        try setIntOption(b, Int32(IPPROTO_IP), IP_PKTINFO, 1)
        try setIntOption(b, Int32(IPPROTO_IP), IP_RECVTTL, 1)
        try a.sendto([1], to: b.sockname(), timeout: .seconds(5))
        let msg = try b.recvmsg(controlSize: 20, timeout: .seconds(5))
        #expect(msg.flags.contains(.ctrunc))
        #expect(msg.data == [1])
    }

    @Test("recverr: an ICMP port unreachable on loopback lands in the error queue", arguments: Backend.allCases)
    func recverr(backend: Backend) throws {
        let s = try Socket.open(.inet, .dgram, .udp, backend: backend.instance())
        defer { try? s.close() }
        try setIntOption(s, Int32(IPPROTO_IP), IP_RECVERR, 1)
        try s.bind(.loopback(port: 0))
        // A port no datagram from `s` is delivered to.
        let (holder, closed) = try unreachableDatagramAddress(on: backend.instance())
        defer { try? holder.close() }
        try s.sendto([1, 2, 3], to: closed, timeout: .seconds(5))
        let msg = try s.recvmsg(flags: .errqueue, timeout: .seconds(5))
        #expect(msg.flags.contains(.errqueue))
        #expect(msg.flags.names.contains("errqueue"))
        #expect(msg.data == [1, 2, 3])
        let err = try control(msg, .ip, IP_RECVERR).data
        // struct sock_extended_err: errno (u32), origin, type, code, pad (u8), info, data (u32),
        // then the offender's sockaddr.
        #expect(UInt32(bitPattern: int32(err)) == UInt32(ECONNREFUSED))
        #expect(err[4] == 2) // SO_EE_ORIGIN_ICMP
        #expect(err[5] == 3 && err[6] == 3) // destination unreachable, port unreachable
        guard case .recverr(let e)? = try control(msg, .ip, IP_RECVERR).value else { Issue.record("no recverr value"); return }
        #expect(e.error == .connectionRefused && e.origin == .icmp)
        #expect(e.typeName == "dest_unreach" && e.codeName == "port_unreach")
        #expect(e.offender == .inet(.loopback, port: 0))
    }

    @Test("recverr on IPv6: an ICMPv6 port unreachable on ::1", .requires(.ipv6Loopback), arguments: Backend.allCases)
    func recverr6(backend: Backend) throws {
        let (holder, closed) = try unreachableDatagramAddress(.inet6, on: backend.instance())
        defer { try? holder.close() }
        let s = try Socket.open(.inet6, .dgram, .udp, backend: backend.instance())
        defer { try? s.close() }
        try setIntOption(s, Int32(IPPROTO_IPV6), 25, 1) // IPV6_RECVERR
        try s.bind(.inet6(.loopback, port: 0))
        try s.sendto([4, 5], to: closed, timeout: .seconds(5))
        let msg = try s.recvmsg(flags: .errqueue, timeout: .seconds(5))
        #expect(msg.data == [4, 5])
        let err = try control(msg, .ipv6, 25)
        #expect(err.name == "recverr")
        guard case .recverr(let e)? = err.value else { Issue.record("no recverr value in \(err)"); return }
        #expect(e.error == .connectionRefused && e.origin == .icmp6)
        #expect(e.typeName == "dest_unreach" && e.codeName == "port_unreach")
        #expect(e.offender == .inet6(.loopback, port: 0))
    }

    @Test("raw ICMP socket (CAP_NET_RAW): echo request and reply on loopback", .requires(.icmpEcho),
          arguments: Backend.allCases)
    func rawICMP(backend: Backend) throws {
        let io = try backend.instance()
        if let reason = Machine.missing(.rawSockets) {
            // Where the kernel refuses raw sockets, ESock says so with an error, not a trap.
            if !Machine.assumedMissing.contains(.rawSockets) {
                #expect(throws: SocketError.self) { try Socket.open(.inet, .raw, .native(Int32(IPPROTO_ICMP)), backend: io) }
            }
            try Machine.skip(reason)
        }
        let s = try Socket.open(.inet, .raw, .native(Int32(IPPROTO_ICMP)), backend: io)
        defer { try? s.close() }
        let id = UInt16(truncatingIfNeeded: getpid()) ^ UInt16(backend.rawValue.count)
        var packet: [UInt8] = [8, 0, 0, 0, UInt8(id >> 8), UInt8(id & 0xff), 0, 1] + Array("esock".utf8)
        var sum: UInt32 = 0
        for i in stride(from: 0, to: packet.count, by: 2) {
            sum += UInt32(packet[i]) << 8 | (i + 1 < packet.count ? UInt32(packet[i + 1]) : 0)
        }
        while sum > 0xffff { sum = (sum & 0xffff) + (sum >> 16) }
        let check = ~UInt16(sum)
        packet[2] = UInt8(check >> 8)
        packet[3] = UInt8(check & 0xff)
        try s.sendto(packet, to: .loopback(port: 0), timeout: .seconds(5))
        // The socket sees ICMP of the whole host: read until our echo reply (type 0, our id).
        for _ in 0..<64 {
            let (source, data) = try s.recvfrom(timeout: .seconds(5))
            let header = Int(data[0] & 0x0f) * 4
            guard data.count >= header + 8, data[header] == 0,
                  UInt16(data[header + 4]) << 8 | UInt16(data[header + 5]) == id else { continue }
            #expect(source?.domain == .inet)
            #expect(Array(data[(header + 8)...]) == Array("esock".utf8))
            return
        }
        Issue.record("no echo reply")
    }
}

@Suite("Packet sockets (CAP_NET_RAW)", .leakChecked)
struct PacketSocketTests {
    @Test("a packet socket on lo sees a UDP datagram with its link-layer source", arguments: Backend.allCases)
    func packetOnLoopback(backend: Backend) throws {
        let io = try backend.instance()
        if let reason = Machine.missing(.packetSockets) {
            // Where the kernel refuses packet sockets, ESock says so with an error, not a trap.
            if !Machine.assumedMissing.contains(.packetSockets) {
                #expect(throws: SocketError.self) { try Socket.open(.packet, .dgram, .native(0x0800), backend: io) }
            }
            try Machine.skip(reason)
        }
        // The protocol of a packet socket is in network order (htons(ETH_P_IP)).
        let p = try Socket.open(.packet, .dgram, .native(Int32(UInt16(0x0800).bigEndian)), backend: io)
        defer { try? p.close() }
        try p.bind(.packet(PacketAddress(protocol: 0x0800, ifindex: 1)))
        guard case .packet(let bound) = try p.sockname() else { Issue.record("sockname is not a packet address"); return }
        #expect(bound.ifindex == 1 && bound.protocol == 0x0800 && bound.hardwareTypeName == "loopback")
        let (a, b) = try udpPair(on: backend)
        defer { try? a.close(); try? b.close() }
        let marker = Array("esock-packet-\(getpid())-\(backend.rawValue)".utf8)
        // The socket sees all of lo's IPv4 traffic, and other tests run alongside: a large buffer
        // so that ours is not dropped in a burst, and the datagram sent again (at most 5 times)
        // when a receive finds nothing for 2 s, in case a burst dropped it anyway. Forcing the size
        // past net.core.rmem_max needs CAP_NET_ADMIN; without it, as much as rmem_max allows.
        if (try? p.setopt(.socket(.rcvbufforce), .int(8 << 20))) == nil {
            try p.setopt(.socket(.rcvbuf), .int(8 << 20))
        }
        var sent = 0
        for _ in 0..<10_000 {
            if sent == 0 {
                try a.sendto(marker, to: b.sockname(), timeout: .seconds(5))
                sent += 1
            }
            let source: SocketAddress?, frame: [UInt8]
            do {
                (source, frame) = try p.recvfrom(bufferSize: 65536, timeout: .seconds(2))
            } catch {
                guard error.reason == .timeout, sent < 5 else {
                    // PACKET_STATISTICS (level SOL_PACKET 263, option 6): packets seen and dropped.
                    let stats = try? p.getoptNative(level: .native(263), option: 6, as: .size(8))
                    Issue.record("\(error) after \(sent) sends; packet statistics \(String(describing: stats))")
                    return
                }
                try a.sendto(marker, to: b.sockname(), timeout: .seconds(5))
                sent += 1
                continue
            }
            guard frame.count >= marker.count, Array(frame.suffix(marker.count)) == marker else { continue }
            guard case .packet(let from)? = source else { Issue.record("source \(String(describing: source))"); return }
            #expect(from.ifindex == 1 && from.protocol == 0x0800)
            #expect(["host", "outgoing"].contains(from.packetTypeName ?? "?"))
            #expect(frame[0] >> 4 == 4) // an IPv4 header: SOCK_DGRAM strips the link-layer header
            return
        }
        Issue.record("our datagram never showed")
    }
}
