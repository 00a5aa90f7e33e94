@testable import ESock
import Synchronization
import SystemPackage
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The engine's own rules: bounded work per call, predicates with no lock held, effects after
/// the socket's lock.
@Suite("Engine: bounded kernel calls, predicates outside locks", .leakChecked)
struct EngineTests {
    /// A thread that reads everything from `socket` until it closes; the returned function
    /// waits for it and gives the bytes.
    func drain(_ socket: Socket) -> () -> [UInt8] {
        let got = Locked<[UInt8]>([])
        let done = onThread {
            while let d = try? socket.recv(timeout: .seconds(10)) { got.withLock { $0 += d } }
        }
        return {
            try? done()
            return got.withLock { $0 }
        }
    }

    /// Runs a nowait transfer to its end: `call` is made again after each select message (with
    /// what the select answer says is left); a completion message ends it. Checks that no call
    /// made more than 16 kernel calls of its kind (`tries`; on the completion backend the
    /// ring's request counts as one more).
    func transfer<T>(_ mailbox: Mailbox, _ tries: () -> UInt64, extraTries: UInt64,
                     _ call: () throws -> Pending<T>, progressed: (Pending<T>) -> Bool,
                     afterFirst: () -> Void) throws {
        var first = true
        while true {
            let before = tries()
            let pending = try call()
            #expect(tries() - before <= UInt64(SocketState.syscallBudget) + extraTries)
            if first { afterFirst() }
            first = false
            guard progressed(pending), let handle = pending.handle else { return }
            switch try expectMessage(mailbox, handle) {
            case .select: continue
            case .completion(_, _, .failed(let e)): throw e
            case .completion: return
            case let m: Issue.record("unexpected \(m)"); return
            }
        }
    }

    @Test("one call makes at most 16 send(2) calls; the rest continues later and all of it arrives",
          arguments: Backend.allCases)
    func sendsAreBounded(_ backend: Backend) throws {
        _ = try backend.instance()
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        var reader: (() -> [UInt8])?
        let data = pattern(16 << 20)
        let mb = Mailbox()
        var rest = data
        try transfer(mb, { p.client.counters.writeTries }, extraTries: 1, {
            try p.client.send(rest, nowait: mb)
        }, progressed: { pending in
            switch pending {
            case .done(let r): rest = r; return false
            case .select(_, let partial): rest = partial ?? rest; return true
            case .completion: return true
            }
        }, afterFirst: { reader = drain(p.server) })
        try p.client.shutdown(.write)
        #expect(reader?() == data)
    }

    @Test("a gathering receive makes at most 16 recv(2) calls", arguments: Backend.allCases)
    func gatheringIsBounded(_ backend: Backend) throws {
        _ = try backend.instance()
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        try p.server.setopt(.otp(.rcvbuf), .bufferSizes(count: 1000, size: 1024))
        let data = pattern(1 << 20)
        let writer = onThread { try p.client.send(data, timeout: .seconds(10)) }
        // Wait until more than 16 reads' worth is there.
        waitUntil("64 KiB to arrive") { (try? p.server.ioctl(.nread).int ?? 0) ?? 0 > 64 * 1024 }
        let before = p.server.counters.readTries
        let first = try p.server.recv(timeout: .seconds(5))
        #expect(p.server.counters.readTries - before <= UInt64(SocketState.syscallBudget))
        #expect(first.count <= SocketState.syscallBudget * 1024 && first.count > 1024)
        let rest = try recvAll(p.server, data.count - first.count)
        try writer()
        #expect(first + rest == data)
    }

    @Test("one sendfile call makes at most 16 sendfile(2) calls; the file arrives whole", arguments: Backend.allCases)
    func sendfileIsBounded(_ backend: Backend) throws {
        _ = try backend.instance()
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        let content = pattern(16 << 20, seed: 3)
        var path = Array("/tmp/esock-bounded-sendfile-XXXXXX".utf8CString)
        let fd = mkstemp(&path)
        try #require(fd >= 0)
        defer { close(fd); unlink(path) }
        try #require(content.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == content.count)
        var reader: (() -> [UInt8])?
        let mb = Mailbox()
        var sent = 0
        try transfer(mb, { p.server.counters.sendfileTries }, extraTries: 0, {
            try p.server.sendfile(FileDescriptor(rawValue: fd), offset: Int64(sent), count: content.count - sent, nowait: mb)
        }, progressed: { pending in
            switch pending {
            case .done(let n): sent += n; return sent < content.count
            case .select(_, let partial): sent += partial ?? 0; return true
            case .completion: return true
            }
        }, afterFirst: { reader = drain(p.client) })
        try p.server.shutdown(.write)
        #expect(reader?() == content)
    }

    @Test("async selective receives run their predicates with no lock held", arguments: Backend.allCases)
    func asyncPredicatesUseSockets(_ backend: Backend) async throws {
        _ = try backend.instance()
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        let mb = Mailbox()
        let pending = try p.server.recv(nowait: mb)
        let handle = try #require(pending.handle)
        let waiter = Task {
            await mb.next { m in
                // Reads the socket (its lock) and the mailbox (its lock) from inside the predicate.
                _ = m.socket.counters
                _ = mb.count
                return m.handle == handle
            }
        }
        try await p.client.send([9])
        let m = await waiter.value
        #expect(m?.handle == handle)
        if case .select? = m { #expect(try p.server.recv(nowait: mb).doneValue == [9]) }
    }

    @Test("connections that arrive while nobody accepts are accepted later, each once; a cancelled accept loses none",
          arguments: Backend.allCases)
    func acceptsLoseNothing(_ backend: Backend) throws {
        let io = try backend.instance()
        let l = try listener(on: backend)
        defer { try? l.close() }
        let mb = Mailbox()
        // An accept waits (the completion backend arms its acceptor), then is cancelled.
        switch try l.accept(nowait: mb) {
        case .select(let info, _): try l.cancel(info)
        case .completion(let info): try l.cancel(info)
        case .done(let s): try s.close(); Issue.record("a connection nobody made")
        }
        var clients: [Socket] = []
        defer { for c in clients { try? c.close() } }
        for _ in 0..<100 {
            let c = try Socket.open(.inet, .stream, .tcp, backend: io)
            try c.connect(l.sockname(), timeout: .seconds(5))
            clients.append(c)
        }
        var peers = Set<SocketAddress>()
        for _ in 0..<100 {
            let s = try l.accept(timeout: .seconds(5))
            peers.insert(try s.peername())
            try s.close()
        }
        #expect(peers.count == 100)
        #expect(Set(try clients.map { try $0.sockname() }) == peers)
        #expect(throws: SocketError.timeout) { try l.accept(timeout: .milliseconds(50)) }
        #expect(mb.receive(timeout: .zero) == nil)
    }
}
