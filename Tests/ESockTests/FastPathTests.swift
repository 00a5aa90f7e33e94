import ESock
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The shortcuts the hot paths take, checked for what they must never change: a receive after a
/// drained read, urgent data, receives submitted lazily, and sockets living until close.
@Suite("Fast paths: drained reads, lazy submission, socket lifetime", .leakChecked)
struct FastPathTests {
    @Test("data sent after a draining read arrives (500 rounds against a sending thread)", arguments: Backend.allCases)
    func dataAfterDrainedRead(backend: Backend) throws {
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        let rounds = 500
        let payload = pattern(rounds * 7)
        // The sender writes in small pieces with no pause, so reads keep draining the queue
        // while more data is on its way.
        let sender = onThread {
            var at = 0
            while at < payload.count {
                let n = min(7, payload.count - at)
                try p.client.send(Array(payload[at..<(at + n)]), timeout: .seconds(10))
                at += n
            }
        }
        let mb = Mailbox()
        var got: [UInt8] = []
        while got.count < payload.count {
            let d = try nowaitRecv(p.server, mb, length: 0)
            #expect(!d.isEmpty)
            if d.isEmpty { break }
            got += d
        }
        try sender()
        #expect(got == payload)
    }

    @Test("urgent data does not stall the bytes behind it", arguments: Backend.allCases)
    func urgentData(backend: Backend) throws {
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        let mb = Mailbox()
        // The receive waits first, so that one readiness event covers everything sent below.
        let first = try p.server.recv(nowait: mb)
        // With SO_OOBINLINE off the urgent byte leaves the stream: a read stops short at its
        // mark although the bytes after it are there.
        try p.client.send([1, 2, 3], timeout: .seconds(5))
        try p.client.send([9], flags: .oob, timeout: .seconds(5))
        try p.client.send([4, 5], timeout: .seconds(5))
        var got: [UInt8] = []
        let m = try expectMessage(mb, first.handle)
        switch m {
        case .select: break
        case .completion(_, _, .received(let d)): got = d
        default: Issue.record("unexpected \(m)")
        }
        while got.count < 5 {
            let d = try nowaitRecv(p.server, mb, length: 0)
            if d.isEmpty { break }
            got += d
        }
        #expect(got == [1, 2, 3, 4, 5])
    }

    @Test("a receive nobody waits for goes to the kernel when the mailbox is polled", arguments: Backend.allCases)
    func pollSubmitsDeferredWork(backend: Backend) throws {
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        let mb = Mailbox()
        // A drained read first, so that the next receive goes straight to waiting.
        try p.client.send([7], timeout: .seconds(5))
        #expect(try nowaitRecv(p.server, mb, length: 0) == [7])
        let first = try p.server.recv(nowait: mb)
        #expect(first.handle != nil)
        try p.client.send([8], timeout: .seconds(5))
        // Only poll(), never a blocking receive: polling must be enough for the message to come.
        let deadline = ContinuousClock.now + .seconds(5)
        var message: SocketMessage? = nil
        while message == nil && ContinuousClock.now < deadline {
            message = mb.poll()
            if message == nil { sched_yield() }
        }
        let m = try #require(message, "no message after polling for 5 s")
        #expect(m.handle == first.handle)
        switch m {
        case .select: #expect(try p.server.recv(nowait: mb).doneValue == [8])
        case .completion(_, _, .received(let d)): #expect(d == [8])
        default: Issue.record("unexpected \(m)")
        }
    }

    @Test("eight threads block on exact-length receives fed in small pieces (leader hand-offs, re-armed receives)",
          arguments: Backend.allCases)
    func threadsShareTheKernelWait(backend: Backend) throws {
        let pairs = try (0..<8).map { _ in try connectedPair(on: backend) }
        defer { for p in pairs { p.closeAll() } }
        let length = 20_000
        let payloads = (0..<pairs.count).map { pattern(length, seed: $0) }
        let readers = pairs.enumerated().map { i, p in
            onThread {
                let data = try p.server.recv(length: length, timeout: .seconds(20))
                #expect(data == payloads[i])
            }
        }
        // One writer feeds every connection 500 bytes at a time, round robin, so each reader's
        // receive completes in many parts while the others wait on the same backend.
        for offset in stride(from: 0, to: length, by: 500) {
            for (i, p) in pairs.enumerated() {
                let chunk = Array(payloads[i][offset..<min(offset + 500, length)])
                try p.client.send(chunk, timeout: .seconds(5))
            }
        }
        for r in readers { try r() }
    }

    @Test("a socket stays open until close(), listed by whichSockets", arguments: Backend.allCases)
    func socketLivesUntilClose(backend: Backend) throws {
        let id: UInt64 = try {
            let s = try Socket.open(.inet, .stream, .tcp, backend: backend.instance())
            return s.id
        }()
        let found = try #require(ESock.whichSockets().first { $0.id == id }, "socket \(id) not registered")
        #expect(throws: Never.self) { try found.sockname() }
        try found.close()
        #expect(!ESock.whichSockets().contains { $0.id == id })
    }

    @Test("a connection accepted for a message nobody received closes when the mailbox ends", arguments: Backend.allCases)
    func undeliveredAcceptClosesWithMailbox(backend: Backend) throws {
        let l = try listener(on: backend)
        defer { try? l.close() }
        let c = try Socket.open(.inet, .stream, .tcp, backend: backend.instance())
        defer { try? c.close() }
        var acceptedID: UInt64? = nil
        do {
            let mb = Mailbox()
            let first = try l.accept(nowait: mb)
            #expect(first.handle != nil)
            try c.connect(l.sockname(), timeout: .seconds(5))
            // Drive the backend until the message is in the mailbox, without taking it out.
            let deadline = ContinuousClock.now + .seconds(5)
            while mb.count == 0 && ContinuousClock.now < deadline {
                _ = mb.receive(timeout: .milliseconds(20)) { _ in false }
            }
            // Look at it in place (a predicate that matches nothing leaves it there).
            let taken = mb.receive(timeout: .zero) { m in
                if case .completion(_, _, .accepted(let s)) = m { acceptedID = s.id }
                return false
            }
            #expect(taken == nil && mb.count == 1)
            if backend.model == .completion {
                let id = try #require(acceptedID, "no accepted socket in the message")
                #expect(ESock.whichSockets().contains { $0.id == id })
            } else {
                // Select: the message only says "call again"; the connection is accepted then.
                let s = try #require(try l.accept(nowait: mb).doneValue)
                try s.close()
            }
            // The mailbox's end closes what was accepted for it and never received.
            mb.end()
        }
        if let acceptedID { #expect(!ESock.whichSockets().contains { $0.id == acceptedID }) }
    }
}
