import CESockStress
@testable import ESock
import Synchronization
import SystemPackage
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Runs `esock-stress` (built with the tests, next to the test binary) with `arguments`; returns
/// its exit status and what it printed.
func runStress(_ arguments: [String]) throws -> (status: Int32, output: String) {
    var exe = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &exe, exe.count - 1)
    try #require(n > 0)
    let dir = String(decoding: exe[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self).split(separator: "/").dropLast()
    let path = "/" + dir.joined(separator: "/") + "/esock-stress"
    var pipeEnds: [Int32] = [0, 0]
    try #require(pipe(&pipeEnds) == 0)
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 1)
    // Standard error too: a trap's message (Swift's "Fatal error: ...") goes there.
    posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 2)
    posix_spawn_file_actions_addclose(&actions, pipeEnds[0])
    var argv: [UnsafeMutablePointer<CChar>?] = (["esock-stress"] + arguments).map { strdup($0) } + [nil]
    defer { for a in argv { free(a) } }
    var child = pid_t()
    let rc = posix_spawn(&child, path, &actions, nil, &argv, environ)
    close(pipeEnds[1])
    defer { close(pipeEnds[0]) }
    try #require(rc == 0, "posix_spawn \(path): \(rc)")
    var output: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let got = read(pipeEnds[0], &buffer, buffer.count)
        if got <= 0 { break }
        output += buffer[0..<got]
    }
    var status: Int32 = 0
    waitpid(child, &status, 0)
    let text = String(decoding: output, as: UTF8.self)
    // Killed by a signal (a trap, or SIGALRM on a hang): not an exit status of 0.
    if status & 0x7f != 0 { return (128 + (status & 0x7f), text + "\n[killed by signal \(status & 0x7f)]") }
    return ((status >> 8) & 0xff, text)
}

/// The value of `key=` in `output`.
func field(_ key: String, in output: String) -> String? {
    for line in output.split(separator: "\n") {
        for part in line.split(separator: " ") where part.hasPrefix(key + "=") {
            return String(part.dropFirst(key.count + 1))
        }
    }
    return nil
}

/// Spins (yielding) until `condition` holds, at most 10 seconds: for states another thread
/// reaches, observed through the library's own introspection, not through sleeps.
func waitUntil(_ what: String, _ condition: () -> Bool, sourceLocation: SourceLocation = #_sourceLocation) {
    let deadline = ContinuousClock.now + .seconds(10)
    while !condition() {
        if ContinuousClock.now > deadline { Issue.record("timed out waiting for \(what)", sourceLocation: sourceLocation); return }
        sched_yield()
    }
}

@Suite("Reliability: leaks, load, faults, io_uring unavailable", .leakChecked)
struct ReliabilityTests {
    @Test("10,000 open/connect/echo/close cycles leave no descriptor and no registered socket behind", arguments: Backend.allCases)
    func noLeaks(backend: Backend) throws {
        try backend.requireAvailable()
        let (status, output) = try runStress(["leak", backend.rawValue, "10000"])
        #expect(status == 0, "\(output)")
        #expect(field("fds_before", in: output) == field("fds_after", in: output))
        #expect(field("sockets_before", in: output) == field("sockets_after", in: output))
        #expect(field("cycles", in: output) == "10000")
    }

    @Test("10,000 concurrent connections all echo checksummed payloads, nothing lost or misrouted", arguments: Backend.allCases)
    func tenThousandConnections(backend: Backend) throws {
        try backend.requireAvailable()
        // Each of the two processes holds a descriptor per connection (esock-stress raises its
        // soft limit to 10,512, up to the hard one).
        if let reason = Machine.descriptorShortfall(10_512) { try Machine.skip(reason) }
        let (status, output) = try runStress(["load", backend.rawValue, "10000"])
        #expect(status == 0, "\(output)")
        #expect(field("server_sockets_at_peak", in: output) == "10001")
        #expect(field("echoed", in: output) == "20000")
        #expect(field("echoes_checked", in: output) == "20000")
    }

    @Test("io_uring_setup denied by seccomp: auto falls back to select and says why; completion fails with EPERM")
    func ioUringUnavailable() throws {
        let (status, output) = try runStress(["seccomp"])
        if status == 3 {
            // Only where the kernel (or the architecture, for the filter's numbering) lacks seccomp filters.
            try Machine.skip("no seccomp filter here: \(output.filter { $0 != "\n" })")
        }
        #expect(status == 0, "\(output)")
        #expect(field("auto_backend", in: output) == "select")
        #expect(output.contains("auto_fallback=io_uring unavailable: eperm"))
        #expect(output.contains("explicit_completion=SocketError(eperm"))
        #expect(output.contains("default_completion=SocketError(eperm"))
    }

    @Test("a small completion queue overflows: no completion is lost", .requires(.ioUring))
    func completionQueueOverflow() throws {
        var config = CompletionBackend.Configuration()
        config.entries = 4
        config.completionEntries = 8
        config.providedBuffers = 0
        let ring = try CompletionBackend(configuration: config)
        defer { ring.shutdown() }
        let l = try Socket.open(.inet, .stream, .tcp, backend: ring)
        try l.bind(.loopback(port: 0))
        try l.listen(backlog: 256)
        var pairs: [(Socket, Socket)] = []
        defer { for (a, b) in pairs { try? a.close(); try? b.close() }; try? l.close() }
        for _ in 0..<100 {
            let c = try Socket.open(.inet, .stream, .tcp, backend: ring)
            try c.connect(l.sockname(), timeout: .seconds(5))
            pairs.append((c, try l.accept(timeout: .seconds(5))))
        }
        // 100 receives wait in the kernel; 100 sends complete them all at once: far more CQEs
        // than the completion queue holds.
        let mailbox = Mailbox()
        var handles: [Handle] = []
        for (_, s) in pairs {
            guard case .completion(let info) = try s.recv(length: 8, nowait: mailbox) else { Issue.record("not waiting"); return }
            handles.append(info.handle)
        }
        for (i, (c, _)) in pairs.enumerated() { try c.send(pattern(8, seed: i), timeout: .seconds(5)) }
        for (i, h) in handles.enumerated() {
            let m = try #require(mailbox.receive(handle: h, timeout: .seconds(10)), "completion \(i) lost")
            guard case .completion(_, _, .received(let data)) = m else { Issue.record("got \(m)"); continue }
            #expect(data == pattern(8, seed: i))
        }
    }

    @Test("peer reset during a large send: an error, not SIGPIPE", arguments: Backend.allCases)
    func resetMidSend(backend: Backend) throws {
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        let big = pattern(8 << 20)
        let sender = onThread {
            do {
                try p.client.send(big, timeout: .seconds(10))
                Issue.record("an 8 MiB send to a reset peer succeeded")
            } catch let e as SocketError {
                #expect(e.reason == .posix(.connectionReset) || e.reason == .posix(.brokenPipe), "\(e)")
            }
        }
        // Once the sender waits (the socket buffers are full), the peer resets.
        waitUntil("the sender to wait") { p.client.info().numWriters > 0 }
        var lin = linger(l_onoff: 1, l_linger: 0)
        setsockopt(p.server.fd, SOL_SOCKET, SO_LINGER, &lin, socklen_t(MemoryLayout<linger>.size))
        try p.server.close()
        try sender()
        // The process is alive (no SIGPIPE) and the socket reports the error again.
        #expect(throws: SocketError.self) { try p.client.send([1], timeout: .seconds(1)) }
    }

    @Test("close from another thread during accept, recv, send and sendfile: closed, and the descriptor's next owner is unharmed", arguments: Backend.allCases)
    func closeDuringOperations(backend: Backend) throws {
        // accept
        let l = try listener(on: backend)
        let accepter = onThread { #expect(throws: SocketError.closed) { try l.accept(timeout: .seconds(10)) } }
        waitUntil("the accept to wait") { l.info().numAcceptors > 0 }
        try l.close()
        try accepter()

        // recv, send and sendfile
        let path = "/tmp/esock-close-\(getpid())-\(backend.rawValue)"
        let file = open(path, O_CREAT | O_RDWR | O_TRUNC, 0o600)
        defer { close(file); unlink(path) }
        let content = pattern(4 << 20)
        #expect(content.withUnsafeBytes { write(file, $0.baseAddress, $0.count) } == content.count)
        for op in ["recv", "send", "sendfile"] {
            let p = try connectedPair(on: backend)
            let victim = p.client
            let fd = victim.fd
            let worker = onThread {
                do {
                    switch op {
                    case "recv": _ = try victim.recv(timeout: .seconds(10))
                    case "send": try victim.send(pattern(16 << 20), timeout: .seconds(10))
                    default: _ = try victim.sendfile(FileDescriptor(rawValue: file), timeout: .seconds(10))
                    }
                    Issue.record("\(op) finished although nobody read")
                } catch let e as SocketError {
                    #expect(e.reason == .closed, "\(op): \(e)")
                }
            }
            waitUntil("\(op) to wait") { op == "recv" ? victim.info().numReaders > 0 : victim.info().numWriters > 0 }
            try victim.close()
            try worker()
            // The next socket may get the same descriptor number: an operation of the closed
            // socket must not touch it.
            let q = try connectedPair(on: backend)
            try q.server.send([7, 7, 7], timeout: .seconds(5))
            #expect(try recvAll(q.client, 3) == [7, 7, 7], "fd \(fd) reused by \(q.client.fd)")
            q.closeAll()
            p.closeAll()
        }
    }

    @Test("the end of a stream that came with its last data is seen after a short read (200 rounds)", arguments: Backend.allCases)
    func endOfStreamAfterShortRead(backend: Backend) throws {
        for round in 0..<200 {
            let p = try connectedPair(on: backend)
            defer { p.closeAll() }
            try p.client.send(pattern(100, seed: round), timeout: .seconds(5))
            try p.client.shutdown(.write)
            // Reads of "whatever is there" (length 0): each one is short.
            var got: [UInt8] = []
            while got.count < 100 { got += try p.server.recv(timeout: .seconds(5)) }
            #expect(got == pattern(100, seed: round))
            // Before the fix the select backend took the short read for "drained" and waited for
            // an edge that had already come with the data: this timed out.
            #expect(throws: SocketError.closed) { try p.server.recv(timeout: .seconds(5)) }
        }
    }

    @Test("a file truncated during sendfile: the transfer ends, and what it reports arrived", arguments: Backend.allCases)
    func truncatedDuringSendfile(backend: Backend) throws {
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        let path = "/tmp/esock-trunc-\(getpid())-\(backend.rawValue)"
        let file = open(path, O_CREAT | O_RDWR | O_TRUNC, 0o600)
        defer { close(file); unlink(path) }
        let content = pattern(16 << 20)
        #expect(content.withUnsafeBytes { write(file, $0.baseAddress, $0.count) } == content.count)
        let sent = Locked<Int>(-1)
        let sender = onThread {
            // The write side is shut down however sendfile ends, so the reader sees the end.
            defer { try? p.client.shutdown(.write) }
            do throws(SocketError) {
                let n = try p.client.sendfile(FileDescriptor(rawValue: file), timeout: .seconds(20))
                sent.withLock { $0 = n }
            } catch {
                // The kernel may also refuse the pages the truncation removed: an error that
                // says how much went before it.
                guard case .sent(let n)? = error.partial else { throw error }
                sent.withLock { $0 = n }
            }
        }
        waitUntil("sendfile to wait") { p.client.info().numWriters > 0 }
        #expect(ftruncate(file, 1 << 20) == 0)
        var received: [UInt8] = []
        var ended = false
        while !ended {
            do {
                received += try p.server.recv(timeout: .seconds(20))
            } catch {
                #expect(error.reason == .closed)
                ended = true
            }
        }
        try sender()
        let reported = sent.withLock { $0 }
        if reported < 0 { Issue.record("sender never finished") }
        #expect(reported >= 1 << 20 && reported < 16 << 20, "sendfile reported \(reported)")
        #expect(received.count == reported)
        // The part the truncation kept arrives intact. (Past it, sendfile's zero-copy pages of the
        // truncated file may read differently: Linux does not promise their content. Compared as a
        // Bool: a failed comparison of megabyte arrays would be diffed at length.)
        let kept = min(received.count, 1 << 20)
        let intact = received.prefix(kept).elementsEqual(content.prefix(kept))
        #expect(intact, "received \(received.count) bytes, reported \(reported)")
    }

    @Test("connect to an unreachable network fails with enetunreach (a namespace with only lo)", .requires(.unshareNet),
          arguments: Backend.allCases)
    func connectUnreachable(backend: Backend) throws {
        let io = try backend.instance()
        // The socket is created on a thread that moved to a new network namespace; a socket stays
        // in the namespace it was created in.
        let made = Locked<Result<Socket, any Error>?>(nil)
        let maker = onThread {
            let rc = esock_stress_unshare_net()
            guard rc == 0 else {
                made.withLock { $0 = .failure(SocketError.posix(-rc)) }
                return
            }
            made.withLock { $0 = Result { try Socket.open(.inet, .stream, .tcp, backend: io) } }
        }
        try maker()
        let s: Socket
        switch made.withLock({ $0 }) {
        case .success(let socket)?: s = socket
        case .failure(let e)?:
            Issue.record("cannot make a network namespace here: \(e)")
            return
        case nil: Issue.record("no socket"); return
        }
        defer { try? s.close() }
        #expect(throws: SocketError(.posix(.networkUnreachable))) { try s.connect(.inet(IPv4Address(10, 1, 2, 3), port: 80), timeout: .seconds(5)) }
    }
}
