import ESock
import SystemPackage
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite("Stream sockets, blocking calls", .leakChecked)
struct StreamTests {
    @Test("open, bind, listen, sockname, peername, close", arguments: Backend.allCases)
    func lifecycle(backend: Backend) throws {
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        let laddr = try p.listener.sockname()
        #expect(laddr.port != 0)
        #expect(try p.client.peername() == laddr)
        #expect(try p.server.peername() == p.client.sockname())
        #expect(p.client.ioBackend.name == backend.name)
        try p.client.close()
        #expect(throws: SocketError.closed) { try p.client.close() }
        #expect(throws: SocketError.closed) { try p.client.send([1], timeout: .seconds(1)) }
        #expect(throws: SocketError.closed) { try p.client.sockname() }
    }

    @Test("echo both ways", arguments: Backend.allCases)
    func echo(backend: Backend) throws {
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        for size in [1, 64, 4096, 65536, 1 << 20] {
            let data = pattern(size, seed: size)
            let wait = onThread { try p.client.send(data, timeout: .seconds(10)) }
            #expect(try recvAll(p.server, size) == data)
            try wait()
            try p.server.send(data, timeout: .seconds(10))
            #expect(try recvAll(p.client, size) == data)
        }
    }

    @Test("IPv6 loopback", .requires(.ipv6Loopback), arguments: Backend.allCases)
    func ipv6(backend: Backend) throws {
        let p = try connectedPair(on: backend, .inet6)
        defer { p.closeAll() }
        try p.client.send(Array("hello".utf8))
        #expect(try recvAll(p.server, 5) == Array("hello".utf8))
        guard case .inet6(let a, _, _, _) = try p.server.sockname() else { Issue.record("not inet6"); return }
        #expect(a == .loopback)
    }

    @Test("local (Unix) stream sockets, path and abstract", arguments: Backend.allCases)
    func local(backend: Backend) throws {
        let path = "/tmp/esock-test-\(getpid())-\(backend.rawValue).sock"
        unlink(path)
        defer { unlink(path) }
        let abstract: [UInt8] = [0] + Array("esock-abstract-\(getpid())-\(backend.rawValue)".utf8)
        for address in [SocketAddress.local(path), .local(path: abstract)] {
            let l = try Socket.open(.local, .stream, backend: backend.instance())
            try l.bind(address)
            try l.listen()
            #expect(try l.sockname() == address)
            let c = try Socket.open(.local, .stream, backend: backend.instance())
            try c.connect(address, timeout: .seconds(5))
            let s = try l.accept(timeout: .seconds(5))
            try c.send([1, 2, 3])
            #expect(try recvAll(s, 3) == [1, 2, 3])
            for x in [c, s, l] { try x.close() }
        }
    }

    @Test("recv with a length waits for all of it; length 0 returns what is there", arguments: Backend.allCases)
    func recvLength(backend: Backend) throws {
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        let wait = onThread {
            try p.client.send([1, 2, 3])
            // The reader below must still be waiting for the last two bytes.
            _ = try p.client.recv(length: 1, timeout: .seconds(10))
            try p.client.send([4, 5])
        }
        let first = try p.server.recv(length: 0, timeout: .seconds(5))
        #expect(first == [1, 2, 3])
        try p.server.send([0])
        #expect(try p.server.recv(length: 2, timeout: .seconds(5)) == [4, 5])
        try wait()
    }

    @Test("recv timeout: nothing, then partial data", arguments: Backend.allCases)
    func recvTimeout(backend: Backend) throws {
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        #expect(throws: SocketError.timeout) { try p.server.recv(timeout: .milliseconds(20)) }
        #expect(throws: SocketError.timeout) { try p.server.recv(timeout: .zero) }
        try p.client.send([7, 8, 9])
        do {
            _ = try p.server.recv(length: 10, timeout: .milliseconds(50))
            Issue.record("recv of 10 bytes returned with only 3 sent")
        } catch {
            #expect(error.reason == .timeout)
            #expect(error.partial == .received([7, 8, 9]))
        }
        // Nothing was lost or duplicated by the timeout.
        try p.client.send([10])
        #expect(try p.server.recv(length: 1, timeout: .seconds(5)) == [10])
    }

    @Test("a zero timeout still tries once", arguments: Backend.allCases)
    func zeroTimeoutTries(backend: Backend) throws {
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        try p.client.send([42])
        // Loopback delivers before send returns.
        #expect(try p.server.recv(timeout: .zero) == [42])
    }

    @Test("peer closed: recv fails with closed; EOF after shutdown(write) delivers all data first", arguments: Backend.allCases)
    func eof(backend: Backend) throws {
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        let data = pattern(100_000)
        let wait = onThread {
            try p.client.send(data, timeout: .seconds(10))
            try p.client.shutdown(.write)
        }
        #expect(try recvAll(p.server, data.count) == data)
        try wait()
        #expect(throws: SocketError.closed) { try p.server.recv(timeout: .seconds(5)) }
        do {
            _ = try p.server.recv(length: 5, timeout: .seconds(5))
            Issue.record("recv after EOF returned")
        } catch {
            #expect(error.reason == .closed)
        }
    }

    @Test("peer reset: recv fails with econnreset", arguments: Backend.allCases)
    func reset(backend: Backend) throws {
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        var lin = linger(l_onoff: 1, l_linger: 0)
        #expect(setsockopt(p.client.fd, SOL_SOCKET, SO_LINGER, &lin, socklen_t(MemoryLayout<linger>.size)) == 0)
        try p.client.close()
        do {
            _ = try p.server.recv(timeout: .seconds(5))
            Issue.record("recv after reset returned")
        } catch {
            #expect(error.errno == .connectionReset)
        }
        // And a send to a reset peer fails with an error, not SIGPIPE.
        do {
            for _ in 0..<3 { try p.server.send(pattern(1000), timeout: .seconds(5)) }
            Issue.record("send to a reset peer succeeded")
        } catch {
            #expect(error.errno == .brokenPipe || error.errno == .connectionReset)
        }
    }

    @Test("send timeout reports the data not sent", arguments: Backend.allCases)
    func sendTimeout(backend: Backend) throws {
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        // The peer never reads: fill both socket buffers.
        let chunk = pattern(64 << 20)
        do {
            try p.client.send(chunk, timeout: .milliseconds(200))
            Issue.record("64 MiB fit in the socket buffers")
        } catch {
            #expect(error.reason == .timeout)
            guard case .rest(let rest)? = error.partial else {
                Issue.record("no rest data in \(error)")
                return
            }
            #expect(rest.count > 0 && rest.count < chunk.count)
            #expect(Array(chunk.suffix(rest.count)) == rest)
            // What was sent arrives intact; count it.
            var got = 0
            let sent = chunk.count - rest.count
            while got < sent {
                let d = try p.server.recv(length: min(65536, sent - got), timeout: .seconds(10))
                #expect(d == Array(chunk[got..<got + d.count]))
                got += d.count
            }
            #expect(got == sent)
        }
    }

    @Test("connect refused", arguments: Backend.allCases)
    func refused(backend: Backend) throws {
        let io = try backend.instance()
        let (holder, addr) = try refusingAddress(on: io)    // bound, not listening: held, refused
        defer { try? holder.close() }
        let c = try Socket.open(.inet, .stream, .tcp, backend: io)
        defer { try? c.close() }
        do {
            try c.connect(addr, timeout: .seconds(5))
            Issue.record("connect to a closed port succeeded")
        } catch {
            #expect(error.errno == .connectionRefused)
        }
    }

    @Test("accept timeout", arguments: Backend.allCases)
    func acceptTimeout(backend: Backend) throws {
        let l = try listener(on: backend)
        defer { try? l.close() }
        #expect(throws: SocketError.timeout) { try l.accept(timeout: .milliseconds(20)) }
        #expect(l.counters.accWaits >= 1)
    }

    @Test("sendfile sends the file's bytes, with offset and count", arguments: Backend.allCases)
    func sendfile(backend: Backend) throws {
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        let path = "/tmp/esock-sendfile-\(getpid())-\(backend.rawValue)"
        let content = pattern(3 << 20, seed: 3)
        let fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o600)
        try #require(fd >= 0)
        defer { close(fd); unlink(path) }
        #expect(content.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == content.count)
        let wait = onThread {
            let all = try p.client.sendfile(FileDescriptor(rawValue: fd), timeout: .seconds(10))
            #expect(all == content.count)
            let part = try p.client.sendfile(FileDescriptor(rawValue: fd), offset: 1000, count: 5000, timeout: .seconds(10))
            #expect(part == 5000)
        }
        #expect(try recvAll(p.server, content.count) == content)
        #expect(try recvAll(p.server, 5000) == Array(content[1000..<6000]))
        try wait()
        #expect(p.client.counters.sendfileByte == UInt64(content.count + 5000))
        #expect(throws: SocketError.invalid("file descriptor 100000")) {
            try p.client.sendfile(FileDescriptor(rawValue: 100_000), timeout: .seconds(1))
        }
    }

    @Test("counters follow the traffic", arguments: Backend.allCases)
    func counters(backend: Backend) throws {
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        try p.client.send(pattern(100))
        try p.client.send(pattern(300))
        _ = try recvAll(p.server, 400)
        let c = p.client.counters, s = p.server.counters
        #expect(c.writeByte == 400 && c.writePkg == 2 && c.writePkgMax == 300 && c.writeTries == 2)
        #expect(s.readByte == 400 && s.readPkg >= 1 && s.readTries >= 1)
        #expect(p.listener.counters.accSuccess == 1)
        let keys = Set(c.asDictionary.keys)
        #expect(keys.isSuperset(of: ["read_byte", "read_fails", "read_pkg", "read_pkg_max", "read_tries", "read_waits",
                                     "write_byte", "write_fails", "write_pkg", "write_pkg_max", "write_tries", "write_waits",
                                     "acc_success", "acc_fails", "acc_tries", "acc_waits", "sendfile_byte"]))
    }

    /// The accept and sendfile counters are kept out of line (`RareCounters`), shared between
    /// copies: a copy the caller holds keeps its values while the socket's move on.
    @Test("a copy of the counters does not move with the socket's", arguments: Backend.allCases)
    func countersCopyStays(backend: Backend) throws {
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        let before = p.listener.counters
        #expect(before.accSuccess == 1)
        #expect(p.client.counters.accSuccess == 0 && p.client.counters.sendfileByte == 0)
        let c2 = try Socket.open(.inet, .stream, .tcp, backend: backend.instance())
        defer { try? c2.close() }
        try c2.connect(p.listener.sockname(), timeout: .seconds(5))
        let s2 = try p.listener.accept(timeout: .seconds(5))
        defer { try? s2.close() }
        let after = p.listener.counters
        #expect(before.accSuccess == 1, "the earlier copy kept its value")
        #expect(after.accSuccess == 2)
        #expect(after.accTries >= 2)
        #expect(before != after)
        var edited = after
        edited.accSuccess = 7
        #expect(edited.accSuccess == 7 && after.accSuccess == 2 && p.listener.counters.accSuccess == 2)
        #expect(edited.asDictionary["acc_success"] == 7)
    }

    @Test("bad input is an error, not a trap", arguments: Backend.allCases)
    func badInput(backend: Backend) throws {
        let s = try Socket.open(.local, .stream, backend: backend.instance())
        defer { try? s.close() }
        #expect(throws: SocketError.self) { try s.bind(.local(String(repeating: "x", count: 200))) }
        #expect(throws: SocketError.self) { try s.bind(.local(path: [65, 0, 66])) }
        #expect(throws: SocketError.invalid("length -1")) { try s.recv(length: -1, timeout: .zero) }
        #expect(throws: SocketError.invalid("backlog -5")) { try s.listen(backlog: -5) }
        #expect(throws: SocketError.self) { try s.connect(.loopback(port: 1), timeout: .seconds(1)) }
        let t = try Socket.open(.inet, .stream, .tcp, backend: backend.instance())
        defer { try? t.close() }
        #expect(throws: SocketError.self) { try t.recv(timeout: .milliseconds(10)) }  // not connected
        #expect(throws: SocketError.invalid("offset -1")) { try t.sendfile(.standardInput, offset: -1, timeout: .zero) }
    }
}
