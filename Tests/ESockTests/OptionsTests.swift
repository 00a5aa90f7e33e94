import ESock
import SystemPackage
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The reason `body` failed with; nil when it did not fail.
private func failure(_ body: () throws -> Void) -> SocketError.Reason? {
    do {
        try body()
        return nil
    } catch let error as SocketError {
        return error.reason
    } catch {
        return .invalid("not a SocketError: \(error)")
    }
}

/// Whether `body` failed with `invalid`.
private func isInvalid(_ body: () throws -> Void) -> Bool {
    if case .invalid = failure(body) { return true }
    return false
}

@Suite(.leakChecked) struct OptionsTests {
    @Test("socket level: booleans, integers, linger, timeval, names round-trip", arguments: Backend.allCases)
    func socketLevelRoundTrips(_ backend: Backend) throws {
        let s = try Socket.open(.inet, .stream, .tcp, backend: backend.instance())
        defer { try? s.close() }
        for option in [SocketLevelOption.reuseaddr, .reuseport, .keepalive, .oobinline, .dontroute, .timestamp] {
            try s.setopt(.socket(option), .bool(true))
            #expect(try s.getopt(.socket(option)) == .bool(true), "\(option)")
            try s.setopt(.socket(option), .bool(false))
            #expect(try s.getopt(.socket(option)) == .bool(false), "\(option)")
        }
        try s.setopt(.socket(.priority), .int(3))
        #expect(try s.getopt(.socket(.priority)) == .int(3))
        if !Machine.lacks(.socketMark, skipping: "the mark (SO_MARK)") {
            try s.setopt(.socket(.mark), .int(7))
            #expect(try s.getopt(.socket(.mark)) == .int(7))
        }
        try s.setopt(.socket(.rcvlowat), .int(10))
        #expect(try s.getopt(.socket(.rcvlowat)) == .int(10))
        // The kernel doubles the buffer sizes it is given (socket(7)).
        try s.setopt(.socket(.sndbuf), .int(65536))
        #expect(try s.getopt(.socket(.sndbuf)) == .int(131072))
        try s.setopt(.socket(.rcvbuf), .int(32768))
        #expect(try s.getopt(.socket(.rcvbuf)) == .int(65536))
        try s.setopt(.socket(.linger), .linger(5))
        #expect(try s.getopt(.socket(.linger)) == .linger(5))
        try s.setopt(.socket(.linger), .linger(nil))
        #expect(try s.getopt(.socket(.linger)) == .linger(nil))
        try s.setopt(.socket(.rcvtimeo), .timeval(TimeValue(seconds: 1, microseconds: 500_000)))
        #expect(try s.getopt(.socket(.rcvtimeo)) == .timeval(TimeValue(seconds: 1, microseconds: 500_000)))
        if !Machine.lacks(.bindToDevice, skipping: "bindtodevice") {
            try s.setopt(.socket(.bindtodevice), .string("lo"))
            #expect(try s.getopt(.socket(.bindtodevice)) == .string("lo"))
        }
        // Get-only options.
        #expect(try s.getopt(.socket(.domain)) == .domain(.inet))
        #expect(try s.getopt(.socket(.type)) == .type(.stream))
        #expect(try s.getopt(.socket(.protocol)) == .protocol(.tcp))
        #expect(try s.getopt(.socket(.error)) == .int(0))
        #expect(try s.getopt(.socket(.acceptconn)) == .bool(false))
        try s.bind(.loopback(port: 0))
        try s.listen()
        #expect(try s.getopt(.socket(.acceptconn)) == .bool(true))
    }

    @Test("a local pair's peer credentials are this process's", arguments: Backend.allCases)
    func peerCredentials(_ backend: Backend) throws {
        var fds: [Int32] = [0, 0]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        defer { close(fds[1]) }
        let s = try Socket.open(fd: FileDescriptor(rawValue: fds[0]), dup: false, backend: backend.instance())
        defer { try? s.close() }
        #expect(try s.getopt(.socket(.peercred)) == .credentials(Credentials(pid: getpid(), uid: getuid(), gid: getgid())))
        try s.setopt(.socket(.passcred), .bool(true))
        #expect(try s.getopt(.socket(.passcred)) == .bool(true))
    }

    @Test("ip level: tos, ttl, multicast settings, pmtudisc, membership", arguments: Backend.allCases)
    func ipLevel(_ backend: Backend) throws {
        let s = try Socket.open(.inet, .dgram, .udp, backend: backend.instance())
        defer { try? s.close() }
        try s.setopt(.ip(.tos), .tos(.lowdelay))
        #expect(try s.getopt(.ip(.tos)) == .tos(.lowdelay))
        try s.setopt(.ip(.tos), .int(0x20))
        #expect(try s.getopt(.ip(.tos)) == .tos(.value(0x20)))
        try s.setopt(.ip(.ttl), .int(33))
        #expect(try s.getopt(.ip(.ttl)) == .int(33))
        try s.setopt(.ip(.multicastTTL), .int(4))
        #expect(try s.getopt(.ip(.multicastTTL)) == .int(4))
        try s.setopt(.ip(.multicastLoop), .bool(false))
        #expect(try s.getopt(.ip(.multicastLoop)) == .bool(false))
        try s.setopt(.ip(.multicastIf), .ipv4(.loopback))
        #expect(try s.getopt(.ip(.multicastIf)) == .ipv4(.loopback))
        try s.setopt(.ip(.mtuDiscover), .pmtudisc(.do))
        #expect(try s.getopt(.ip(.mtuDiscover)) == .pmtudisc(.do))
        for option in [IPOption.recvtos, .recvttl, .pktinfo, .recverr, .freebind, .recvorigdstaddr, .multicastAll] {
            try s.setopt(.ip(option), .bool(true))
            #expect(try s.getopt(.ip(option)) == .bool(true), "\(option)")
        }
        // Group membership: joining twice is refused, leaving a group not joined too.
        let group = IPv4Address(239, 1, 2, 3)
        try s.setopt(.ip(.addMembership), .ipMreq(multiaddr: group, interface: .loopback))
        #expect(failure { try s.setopt(.ip(.addMembership), .ipMreq(multiaddr: group, interface: .loopback)) }
            == .posix(SocketError.Errno(rawValue: EADDRINUSE)))
        try s.setopt(.ip(.dropMembership), .ipMreq(multiaddr: group, interface: .loopback))
        #expect(failure { try s.setopt(.ip(.dropMembership), .ipMreq(multiaddr: group, interface: .loopback)) }
            == .posix(SocketError.Errno(rawValue: EADDRNOTAVAIL)))
        let ssm = IPv4Address(232, 1, 1, 1)
        try s.setopt(.ip(.addSourceMembership), .ipMreqSource(multiaddr: ssm, interface: .loopback, sourceaddr: .loopback))
        try s.setopt(.ip(.msfilter), .ipMsfilter(multiaddr: ssm, interface: .loopback, include: true,
                                                  sources: [.loopback, IPv4Address(127, 0, 0, 2)]))
        try s.setopt(.ip(.dropSourceMembership), .ipMreqSource(multiaddr: ssm, interface: .loopback, sourceaddr: .loopback))
        // Set-only options refuse getopt; the MTU is get only and known once connected.
        #expect(isInvalid { _ = try s.getopt(.ip(.addMembership)) })
        #expect(isInvalid { try s.setopt(.ip(.mtu), .int(1500)) })
        try s.connect(.loopback(port: 9), timeout: .seconds(5))
        // The path MTU over lo (65536 bytes), as IP counts it: at most 65535.
        let mtu = try s.getopt(.ip(.mtu))
        #expect(mtu == .int(65535), "\(mtu)")
    }

    @Test("ipv6 level: v6only, hops with default, tclass, group membership, addrform", .requires(.ipv6),
          arguments: Backend.allCases)
    func ipv6Level(_ backend: Backend) throws {
        let s = try Socket.open(.inet6, .dgram, .udp, backend: backend.instance())
        defer { try? s.close() }
        try s.setopt(.ipv6(.v6only), .bool(true))
        #expect(try s.getopt(.ipv6(.v6only)) == .bool(true))
        try s.setopt(.ipv6(.unicastHops), .hops(7))
        #expect(try s.getopt(.ipv6(.unicastHops)) == .hops(7))
        try s.setopt(.ipv6(.unicastHops), .hops(nil))
        #expect(try s.getopt(.ipv6(.unicastHops)) == .hops(64))
        try s.setopt(.ipv6(.multicastHops), .hops(3))
        #expect(try s.getopt(.ipv6(.multicastHops)) == .hops(3))
        try s.setopt(.ipv6(.tclass), .int(0x20))
        #expect(try s.getopt(.ipv6(.tclass)) == .int(0x20))
        try s.setopt(.ipv6(.mtuDiscover), .pmtudisc(.probe))
        #expect(try s.getopt(.ipv6(.mtuDiscover)) == .pmtudisc(.probe))
        for option in [IPv6Option.recvpktinfo, .recvhoplimit, .recvtclass, .recverr, .multicastLoop] {
            try s.setopt(.ipv6(option), .bool(true))
            #expect(try s.getopt(.ipv6(option)) == .bool(true), "\(option)")
        }
        let group = try #require(IPv6Address(bytes: [0xff, 0x12] + [UInt8](repeating: 0, count: 13) + [0x42]))
        let lo = UInt32(if_nametoindex("lo"))
        try s.setopt(.ipv6(.joinGroup), .ipv6Mreq(multiaddr: group, interface: lo))
        try s.setopt(.ipv6(.leaveGroup), .ipv6Mreq(multiaddr: group, interface: lo))
        #expect(failure { try s.setopt(.ipv6(.dropMembership), .ipv6Mreq(multiaddr: group, interface: lo)) }
            == .posix(SocketError.Errno(rawValue: EADDRNOTAVAIL)))

        // addrform: an IPv6 socket connected to an IPv4-mapped address becomes an IPv4 socket.
        // Newer kernels refuse the option (ENOPROTOOPT): then this part is skipped.
        if Machine.lacks(.ipv6Addrform, skipping: "addrform") { return }
        let l = try listener(on: backend)
        defer { try? l.close() }
        let c = try Socket.open(.inet6, .stream, .tcp, backend: backend.instance())
        defer { try? c.close() }
        let port = try #require(l.sockname().port)
        try c.connect(.inet6(IPv6Address(v4Mapped: .loopback), port: port), timeout: .seconds(5))
        let accepted = try l.accept(timeout: .seconds(5))
        defer { try? accepted.close() }
        try c.setopt(.ipv6(.addrform), .domain(.inet))
        #expect(try c.getopt(.socket(.domain)) == .domain(.inet))
    }

    @Test("tcp and udp levels", arguments: Backend.allCases)
    func tcpAndUDP(_ backend: Backend) throws {
        let pair = try connectedPair(on: backend)
        defer { pair.closeAll() }
        let s = pair.client
        for option in [TCPOption.nodelay, .cork] {
            try s.setopt(.tcp(option), .bool(true))
            #expect(try s.getopt(.tcp(option)) == .bool(true), "\(option)")
        }
        for (option, value) in [(TCPOption.keepidle, 30), (.keepintvl, 5), (.keepcnt, 3), (.syncnt, 3), (.userTimeout, 1000)] {
            try s.setopt(.tcp(option), .int(value))
            #expect(try s.getopt(.tcp(option)) == .int(value), "\(option)")
        }
        guard case .int(let mss) = try s.getopt(.tcp(.maxseg)) else { Issue.record("maxseg is no integer"); return }
        #expect(mss > 0)
        guard case .string(let congestion) = try s.getopt(.tcp(.congestion)) else { Issue.record("no name"); return }
        #expect(!congestion.isEmpty)
        try s.setopt(.tcp(.congestion), .string(congestion))
        #expect(failure { try s.setopt(.tcp(.congestion), .string("no-such-algorithm")) } == .posix(SocketError.Errno(rawValue: ENOENT)))
        guard case .tcpInfo(let info) = try s.getopt(.tcp(.info)) else { Issue.record("no tcp_info"); return }
        #expect(info.stateName == "established")
        #expect(isInvalid { try s.setopt(.tcp(.info), .int(1)) })
        #expect(isInvalid { _ = try s.getopt(.tcp(.md5sig)) })
        #expect(failure { _ = try s.getopt(.tcp(.noopt)) } == .notSupported)

        let u = try Socket.open(.inet, .dgram, .udp, backend: backend.instance())
        defer { try? u.close() }
        try u.setopt(.udp(.cork), .bool(true))
        #expect(try u.getopt(.udp(.cork)) == .bool(true))
    }

    @Test("sctp options follow the kernel's SCTP support", arguments: Backend.allCases)
    func sctpLevel(_ backend: Backend) throws {
        let io = try backend.instance()
        guard ESock.isSupported(.sctp) else {
            #expect(ESock.supports(options: .sctp).allSatisfy { !$0.supported })
            // The kernel refuses the socket (EPROTONOSUPPORT, or ESOCKTNOSUPPORT for the type).
            guard case .posix = failure({ _ = try Socket.open(.inet, .seqpacket, .sctp, backend: io) }) else {
                Issue.record("an SCTP socket opened where SCTP is said unsupported")
                return
            }
            // The options themselves cannot be tried here.
            _ = Machine.lacks(.sctp, skipping: "the SCTP options (nodelay, autoclose)")
            return
        }
        let s = try Socket.open(.inet, .seqpacket, .sctp, backend: io)
        defer { try? s.close() }
        try s.setopt(.sctp(.nodelay), .bool(true))
        #expect(try s.getopt(.sctp(.nodelay)) == .bool(true))
        try s.setopt(.sctp(.autoclose), .int(10))
        #expect(try s.getopt(.sctp(.autoclose)) == .int(10))
    }

    @Test("otp level: ESock's own settings", arguments: Backend.allCases)
    func otpLevel(_ backend: Backend) throws {
        let owner = Mailbox()
        let s = try Socket.open(.inet, .dgram, .udp, backend: backend.instance(), owner: owner)
        defer { try? s.close() }
        for option in [OTPOption.debug, .iow] {
            #expect(try s.getopt(.otp(option)) == .bool(false))
            try s.setopt(.otp(option), .bool(true))
            #expect(try s.getopt(.otp(option)) == .bool(true))
            try s.setopt(.otp(option), .bool(false))
        }
        #expect(try s.getopt(.otp(.rcvbuf)) == .int(65536))
        try s.setopt(.otp(.rcvbuf), .bufferSizes(count: 4, size: 2048))
        #expect(try s.getopt(.otp(.rcvbuf)) == .bufferSizes(count: 4, size: 2048))
        try s.setopt(.otp(.rcvbuf), .size(nil))
        #expect(try s.getopt(.otp(.rcvbuf)) == .int(65536))
        #expect(isInvalid { try s.setopt(.otp(.rcvbuf), .int(0)) })
        #expect(isInvalid { try s.setopt(.otp(.rcvbuf), .bufferSizes(count: 0, size: 10)) })
        try s.setopt(.otp(.rcvctrlbuf), .int(4096))
        #expect(try s.getopt(.otp(.rcvctrlbuf)) == .int(4096))
        try s.setopt(.otp(.sndctrlbuf), .size(nil))
        #expect(try s.getopt(.otp(.sndctrlbuf)) == .int(1024))
        #expect(try s.getopt(.otp(.meta)) == .undefined)
        try s.setopt(.otp(.meta), .string("tag"))
        #expect(try s.getopt(.otp(.meta)) == .string("tag"))
        try s.setopt(.otp(.meta), .bytes([1, 2, 3]))
        #expect(try s.getopt(.otp(.meta)) == .bytes([1, 2, 3]))
        try s.setopt(.otp(.meta), .undefined)
        #expect(try s.getopt(.otp(.meta)) == .undefined)
        #expect(try s.getopt(.otp(.useRegistry)) == .bool(true))
        #expect(try s.getopt(.otp(.fd)) == .int(Int(s.fd)))
        #expect(try s.getopt(.otp(.domain)) == .domain(.inet))
        for option in [OTPOption.useRegistry, .fd, .domain] {
            #expect(isInvalid { try s.setopt(.otp(option), .int(1)) }, "\(option)")
        }
        // The controlling process: only the owner hands it on.
        #expect(try s.getopt(.otp(.controllingProcess)) == .mailbox(owner))
        let other = Mailbox()
        #expect(failure { try s.setopt(.otp(.controllingProcess), .mailbox(other), by: other) } == .invalid("not_owner"))
        #expect(isInvalid { try s.setopt(.otp(.controllingProcess), .mailbox(other)) })
        try s.setopt(.otp(.controllingProcess), .mailbox(other), by: owner)
        #expect(try s.getopt(.otp(.controllingProcess)) == .mailbox(other))
        #expect(s.owner === other)
    }

    @Test("{otp, rcvbuf} is the size a receive of length 0 reads", arguments: Backend.allCases)
    func otpReceiveBufferApplies(_ backend: Backend) throws {
        let a = try Socket.open(.inet, .dgram, .udp, backend: backend.instance())
        defer { try? a.close() }
        let b = try Socket.open(.inet, .dgram, .udp, backend: backend.instance())
        defer { try? b.close() }
        try a.bind(.loopback(port: 0))
        try a.setopt(.otp(.rcvbuf), .int(16))
        _ = try b.sendto(pattern(100), to: a.sockname(), timeout: .seconds(5))
        let (_, data) = try a.recvfrom(timeout: .seconds(5))
        #expect(data == Array(pattern(100).prefix(16)))
    }

    @Test("{otp, rcvbuf} on a stream: a read of length 0 takes at most the size, gathering up to N full reads",
          arguments: Backend.allCases)
    func otpReceiveBufferOnStreams(_ backend: Backend) throws {
        let pair = try connectedPair(on: backend)
        defer { pair.closeAll() }
        /// Sends `data` and waits (poll(2), no sleep) until the server has all of it queued.
        func arrive(_ data: [UInt8]) throws {
            _ = try pair.client.send(data, timeout: .seconds(5))
            var p = pollfd(fd: pair.server.fd, events: Int16(POLLIN), revents: 0)
            for _ in 0..<100 {
                guard poll(&p, 1, 50) >= 0 else { break }
                if case .int(let n) = try pair.server.ioctl(.nread), n >= data.count { return }
            }
            Issue.record("the data did not arrive")
        }
        try pair.server.setopt(.otp(.rcvbuf), .int(16))
        try arrive(pattern(100))
        #expect(try pair.server.recv(timeout: .seconds(5)) == Array(pattern(100)[0..<16]))
        // Four reads of 16 bytes gathered in one call, then what is left (20 bytes) in the next.
        try pair.server.setopt(.otp(.rcvbuf), .bufferSizes(count: 4, size: 16))
        #expect(try pair.server.recv(timeout: .seconds(5)) == Array(pattern(100)[16..<80]))
        #expect(try pair.server.recv(timeout: .seconds(5)) == Array(pattern(100)[80..<100]))
        // Back to the default: everything waiting comes at once.
        try pair.server.setopt(.otp(.rcvbuf), .size(nil))
        try arrive(pattern(3000, seed: 7))
        #expect(try pair.server.recv(timeout: .seconds(5)) == pattern(3000, seed: 7))
    }

    @Test("native options: by number, as integer, boolean or bytes", arguments: Backend.allCases)
    func nativeOptions(_ backend: Backend) throws {
        let s = try Socket.open(.inet, .stream, .tcp, backend: backend.instance())
        defer { try? s.close() }
        try s.setoptNative(level: .socket, option: SO_REUSEADDR, .bool(true))
        #expect(try s.getoptNative(level: .socket, option: SO_REUSEADDR, as: .boolean) == .bool(true))
        #expect(try s.getopt(.socket(.reuseaddr)) == .bool(true))
        try s.setoptNative(level: .native(Int32(IPPROTO_IP)), option: IP_TTL, .int(17))
        #expect(try s.getoptNative(level: .ip, option: IP_TTL, as: .integer) == .int(17))
        try s.setopt(.socket(.linger), .linger(9))
        #expect(try s.getoptNative(level: .socket, option: SO_LINGER, as: .size(8)) == .bytes([1, 0, 0, 0, 9, 0, 0, 0]))
        try s.setoptNative(level: .socket, option: SO_LINGER, .bytes([0, 0, 0, 0, 0, 0, 0, 0]))
        #expect(try s.getopt(.socket(.linger)) == .linger(nil))
        let read = try s.getoptNative(level: .socket, option: SO_LINGER, as: .buffer([7, 7, 7, 7, 7, 7, 7, 7, 7, 7]))
        // Off, the linger time kept from before (the kernel leaves it when onoff is 0).
        #expect(read == .bytes([0, 0, 0, 0, 9, 0, 0, 0]), "\(read)")
        #expect(isInvalid { try s.setoptNative(level: .socket, option: SO_LINGER, .string("x")) })
        #expect(failure { _ = try s.getoptNative(level: .socket, option: 9999, as: .integer) }
            == .posix(SocketError.Errno(rawValue: ENOPROTOOPT)))
    }

    @Test("bad values and directions: clear errors, never a trap", arguments: Backend.allCases)
    func badInput(_ backend: Backend) throws {
        let s = try Socket.open(.inet, .stream, .tcp, backend: backend.instance())
        #expect(isInvalid { try s.setopt(.socket(.reuseaddr), .int(1)) })
        #expect(isInvalid { try s.setopt(.socket(.type), .type(.dgram)) })
        #expect(isInvalid { try s.setopt(.ip(.tos), .int(300)) })
        #expect(isInvalid { try s.setopt(.socket(.priority), .int(Int(Int32.max) + 1)) })
        #expect(isInvalid { try s.setopt(.socket(.linger), .linger(-1)) })
        #expect(isInvalid { try s.setopt(.socket(.sndtimeo), .timeval(TimeValue(seconds: 1, microseconds: 2_000_000))) })
        #expect(isInvalid { try s.setopt(.socket(.bindtodevice), .string("l\0o")) })
        #expect(isInvalid { try s.setopt(.ipv6(.unicastHops), .hops(256)) })
        #expect(failure { try s.setopt(.ip(.ttl), .int(1000)) } == .posix(SocketError.Errno(rawValue: EINVAL)))
        // Before Linux 5.7 an unprivileged bindtodevice is refused before the name is looked up.
        if !Machine.lacks(.bindToDevice, skipping: "bindtodevice to a missing interface") {
            #expect(failure { try s.setopt(.socket(.bindtodevice), .string("no-such-if0")) } == .posix(SocketError.Errno(rawValue: ENODEV)))
        }
        #expect(failure { _ = try s.getopt(.socket(.acceptfilter)) } == .notSupported)
        #expect(failure { try s.setopt(.ip(.dontfrag), .bool(true)) } == .notSupported)
        try s.close()
        #expect(failure { _ = try s.getopt(.socket(.reuseaddr)) } == .closed)
        #expect(failure { try s.setopt(.otp(.meta), .int(1)) } == .closed)
    }

    @Test("supports: this machine's answers")
    func supports() throws {
        let all = ESock.supports()
        // The kernel's answers, asked independently (IPv6 and namespaces may be missing).
        #expect(all.features[.ipv6] == socketOpens(AF_INET6, Int32(SOCK_DGRAM.rawValue), 0))
        #expect(all.features[.local] == true && all.features[.sendfile] == true)
        #expect(all.features[.netns] == (access("/proc/self/ns/net", F_OK) == 0))
        #expect(ESock.isSupported(.sctp) == (socketOpens(AF_INET, Int32(SOCK_SEQPACKET.rawValue), Int32(IPPROTO_SCTP))))
        #expect(all.messageFlags.count == 10 && all.messageFlags.values.allSatisfy { $0 })
        #expect(ESock.isSupported(messageFlag: "errqueue") && !ESock.isSupported(messageFlag: "nosuchflag"))
        #expect(ESock.isSupported(protocol: "tcp") && ESock.isSupported(protocol: "udp"))
        #expect(!ESock.isSupported(protocol: "no-such-protocol"))
        #expect(all.options.count == SocketOption.allCases.count)
        #expect(ESock.isSupported(option: .socket(.reuseaddr)) && ESock.isSupported(option: .otp(.rcvbuf)))
        #expect(!ESock.isSupported(option: .socket(.acceptfilter)) && !ESock.isSupported(option: .tcp(.nopush)))
        #expect(ESock.supports(options: .tcp).map(\.option) == TCPOption.allCases.map(SocketOption.tcp))
        #expect(ESock.supports(options: nil).count == OTPOption.allCases.count)
        #expect(all.ioctlRequests.count == IoctlRequest.allCases.count)
        #expect(all.ioctlRequests["gifmtu"] == true && all.ioctlRequests["rcvall"] == false)
        #expect(ESock.isSupported(ioctlRequest: .nread) && !ESock.isSupported(ioctlRequest: .nspace))
    }
}

/// Whether the kernel opens a socket of this kind.
private func socketOpens(_ domain: Int32, _ type: Int32, _ proto: Int32) -> Bool {
    let fd = socket(domain, type, proto)
    if fd >= 0 { close(fd) }
    return fd >= 0
}
