import ESock
import SystemPackage
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The nowait calls and their messages, on each backend's model: select answers `.select` and
/// later sends "call again"; completion answers `.completion` and later sends the result.
@Suite("Asynchronous calls: select, completion and abort messages", .leakChecked)
struct AsyncSemanticsTests {
    @Test("recv nowait answers by the backend's model, then the data arrives", arguments: Backend.allCases)
    func recvNowait(backend: Backend) throws {
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        let mb = Mailbox()
        let handle = Handle.make()
        let first = try p.server.recv(nowait: mb, handle: handle)
        switch (backend.model, first) {
        case (.select, .select(let info, nil)):
            #expect(info.tag == .recv && info.handle == handle)
        case (.completion, .completion(let info)):
            #expect(info.tag == .recv && info.handle == handle)
        default:
            Issue.record("unexpected answer \(first) on \(backend)")
        }
        try p.client.send([1, 2, 3])
        let m = try expectMessage(mb, handle)
        switch (backend.model, m) {
        case (.select, .select(_, let h)):
            #expect(h == handle)
            #expect(try p.server.recv(nowait: mb) .doneValue == [1, 2, 3])
        case (.completion, .completion(_, let h, .received(let d))):
            #expect(h == handle && d == [1, 2, 3])
        default:
            Issue.record("unexpected message \(m) on \(backend)")
        }
        #expect(mb.count == 0)
        #expect(p.server.counters.readWaits >= 1)
    }

    @Test("recv nowait of a length: partial data (select) or all of it (completion)", arguments: Backend.allCases)
    func recvNowaitLength(backend: Backend) throws {
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        let mb = Mailbox()
        try p.client.send([1, 2])
        let r = try p.server.recv(length: 5, nowait: mb)
        switch r {
        case .select(let info, let partial):
            #expect(backend.model == .select && partial == [1, 2])
            try p.client.send([3, 4, 5])
            _ = try expectMessage(mb, info.handle)
            #expect(try p.server.recv(length: 3, nowait: mb).doneValue == [3, 4, 5])
        case .completion(let info):
            #expect(backend.model == .completion)
            try p.client.send([3, 4, 5])
            guard case .completion(_, _, .received(let d)) = try expectMessage(mb, info.handle) else {
                Issue.record("no data"); return
            }
            #expect(d == [1, 2, 3, 4, 5])
        case .done(let d):
            Issue.record("recv of 5 with 2 available returned \(d)")
        }
    }

    @Test("accept and connect nowait", arguments: Backend.allCases)
    func acceptConnectNowait(backend: Backend) throws {
        let l = try listener(on: backend)
        defer { try? l.close() }
        let mb = Mailbox()
        let acc = try l.accept(nowait: mb)
        var accepted: Socket?
        if case .done = acc { Issue.record("accept with no client returned a socket") }
        let c = try Socket.open(.inet, .stream, .tcp, backend: backend.instance())
        defer { try? c.close() }
        let conn = try c.connect(l.sockname(), nowait: mb)
        switch conn {
        case .done: break
        case .select(let info, _):
            _ = try expectMessage(mb, info.handle)
            try c.connect()
        case .completion(let info):
            guard case .completion(_, _, .connected) = try expectMessage(mb, info.handle) else {
                Issue.record("connect did not complete"); return
            }
        }
        switch try expectMessage(mb, acc.handle) {
        case .select:
            guard case .done(let s) = try l.accept(nowait: mb) else { Issue.record("accept after select"); return }
            accepted = s
        case .completion(_, _, .accepted(let s)):
            accepted = s
        case let m:
            Issue.record("unexpected \(m)")
        }
        let s = try #require(accepted)
        defer { try? s.close() }
        #expect(try s.peername() == c.sockname())
        #expect(s.ioBackend === l.ioBackend)
    }

    @Test("cancel: no message afterwards; unknown info is invalid", arguments: Backend.allCases)
    func cancel(backend: Backend) throws {
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        let mb = Mailbox()
        let r = try p.server.recv(nowait: mb)
        switch r {
        case .select(let info, _): try p.server.cancel(info)
        case .completion(let info): try p.server.cancel(info)
        case .done: Issue.record("recv on an idle socket returned data")
        }
        // The data sent after the cancel is neither announced nor lost.
        try p.client.send([9, 9])
        #expect(mb.receive(timeout: .milliseconds(50)) == nil)
        #expect(try p.server.recv(length: 2, timeout: .seconds(5)) == [9, 9])
        switch r {
        case .select(let info, _):
            #expect(throws: SocketError.invalid("select info recv \(info.handle)")) { try p.server.cancel(info) }
        case .completion(let info):
            #expect(throws: SocketError.invalid("completion info recv \(info.handle)")) { try p.server.cancel(info) }
        case .done: break
        }
    }

    @Test("cancel racing the data: exactly one outcome, nothing lost", arguments: Backend.allCases)
    func cancelRace(backend: Backend) throws {
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        let mb = Mailbox()
        var expected: [UInt8] = []
        var received: [UInt8] = []
        for round in 0..<200 {
            let r = try p.server.recv(nowait: mb)
            let byte = UInt8(round % 256)
            try p.client.send([byte])
            expected.append(byte)
            do {
                switch r {
                case .select(let info, _): try p.server.cancel(info)
                case .completion(let info): try p.server.cancel(info)
                case .done(let d): received += d
                }
            } catch {
                // Too late: the operation finished and its message is waiting.
                #expect(error.reason == .invalid("completion info recv \(r.handle!)") ||
                        error.reason == .invalid("select info recv \(r.handle!)"))
                if case .completion(_, _, .received(let d)) = try expectMessage(mb, r.handle) { received += d }
            }
            #expect(mb.count == 0)
        }
        while received.count < expected.count {
            received += try p.server.recv(length: expected.count - received.count, timeout: .seconds(5))
        }
        #expect(received == expected)
    }

    @Test("close from another thread aborts pending and queued operations with closed", arguments: Backend.allCases)
    func closeAborts(backend: Backend) throws {
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        let a = Mailbox(), b = Mailbox()
        let ra = try p.server.recv(nowait: a)
        let rb = try p.server.recv(nowait: b)
        #expect(ra.handle != nil && rb.handle != nil)
        // A blocking reader on a third thread is queued too.
        let blocked = onThread {
            #expect(throws: SocketError.closed) { try p.server.recv(timeout: .seconds(10)) }
        }
        let closer = onThread { try p.server.close() }
        try closer()
        for (mb, r) in [(a, ra), (b, rb)] {
            guard case .abort(_, let h, let reason) = try expectMessage(mb, r.handle) else {
                Issue.record("expected abort"); continue
            }
            #expect(h == r.handle && reason == .closed)
        }
        try blocked()
        #expect(throws: SocketError.closed) { try p.server.recv(nowait: a) }
    }

    @Test("callers queue in order; each gets its turn", arguments: Backend.allCases)
    func queueing(backend: Backend) throws {
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        let mailboxes = (0..<3).map { _ in Mailbox() }
        let answers = try mailboxes.map { try p.server.recv(length: 1, nowait: $0) }
        for (i, mb) in mailboxes.enumerated() {
            try p.client.send([UInt8(i)])
            let m = try expectMessage(mb, answers[i].handle)
            switch m {
            case .select:
                #expect(try p.server.recv(length: 1, nowait: mb).doneValue == [UInt8(i)])
            case .completion(_, _, .received(let d)):
                #expect(d == [UInt8(i)])
            default:
                Issue.record("unexpected \(m)")
            }
        }
    }

    @Test("a second nowait call from the same caller replaces the first (select) or queues (completion)",
          arguments: Backend.allCases)
    func sameCallerAgain(backend: Backend) throws {
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        let mb = Mailbox()
        let first = try p.server.recv(nowait: mb)
        let second = try p.server.recv(nowait: mb)
        if backend.model == .select {
            guard case .abort(_, let h, let reason) = try expectMessage(mb, first.handle) else {
                Issue.record("the replaced call got no abort"); return
            }
            #expect(h == first.handle && reason.reason == .cancelled)
            try p.client.send([5])
            _ = try expectMessage(mb, second.handle)
            #expect(try p.server.recv(nowait: mb).doneValue == [5])
        } else {
            try p.client.send([5])
            guard case .completion(_, _, .received(let d)) = try expectMessage(mb, first.handle) else {
                Issue.record("first got nothing"); return
            }
            #expect(d == [5])
            try p.client.send([6])
            guard case .completion(_, _, .received(let d2)) = try expectMessage(mb, second.handle) else {
                Issue.record("second got nothing"); return
            }
            #expect(d2 == [6])
        }
    }

    @Test("send nowait of more than the socket holds", arguments: Backend.allCases)
    func sendNowaitLarge(backend: Backend) throws {
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        let mb = Mailbox()
        let data = pattern(16 << 20, seed: 1)
        let reader = onThread {
            let got = try recvAll(p.server, data.count)
            #expect(got == data)
        }
        var rest = data
        loop: while true {
            switch try p.client.send(rest, nowait: mb) {
            case .done(let r):
                #expect(r.isEmpty)
                break loop
            case .select(let info, let partial):
                rest = partial ?? rest
                guard case .select = try expectMessage(mb, info.handle) else { Issue.record("no select"); return }
            case .completion(let info):
                guard case .completion(_, _, .sent) = try expectMessage(mb, info.handle) else {
                    Issue.record("send did not complete"); return
                }
                break loop
            }
        }
        try reader()
        #expect(p.client.counters.writeByte == UInt64(data.count))
    }

    @Test("sendfile nowait", arguments: Backend.allCases)
    func sendfileNowait(backend: Backend) throws {
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        let path = "/tmp/esock-sendfile-nowait-\(getpid())-\(backend.rawValue)"
        let content = pattern(8 << 20, seed: 7)
        let fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o600)
        try #require(fd >= 0)
        defer { close(fd); unlink(path) }
        #expect(content.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == content.count)
        let reader = onThread {
            let got = try recvAll(p.server, content.count)
            #expect(got == content)
        }
        let mb = Mailbox()
        var sent = 0
        loop: while sent < content.count {
            switch try p.client.sendfile(FileDescriptor(rawValue: fd), offset: Int64(sent), nowait: mb) {
            case .done(let n): sent += n
            case .select(let info, let partial):
                sent += partial ?? 0
                _ = try expectMessage(mb, info.handle)
            case .completion(let info):
                guard case .completion(_, _, .sentFile(let n)) = try expectMessage(mb, info.handle) else {
                    Issue.record("sendfile did not complete"); return
                }
                sent += n
            }
        }
        #expect(sent == content.count)
        try reader()
    }

    @Test("the mailbox as an AsyncSequence", arguments: Backend.allCases)
    func asyncSequence(backend: Backend) async throws {
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        let mb = Mailbox()
        let r = try p.server.recv(nowait: mb)
        try await p.client.send([1])
        var iterator = mb.messages.makeAsyncIterator()
        let m = try #require(await iterator.next())
        #expect(m.handle == r.handle && m.socket == p.server)
    }

    @Test("selective AsyncSequences: by socket and by handle, the rest stays", arguments: Backend.allCases)
    func selectiveAsyncSequences(backend: Backend) async throws {
        let a = try connectedPair(on: backend)
        defer { a.closeAll() }
        let b = try connectedPair(on: backend)
        defer { b.closeAll() }
        let mb = Mailbox()
        let ra = try a.server.recv(nowait: mb)
        let rb = try b.server.recv(nowait: mb)
        #expect(ra.handle != nil && rb.handle != nil)
        // b's message comes first; the sequence about a's socket skips it and leaves it there.
        try await b.client.send([2])
        let deadline = ContinuousClock.now + .seconds(5)
        while mb.count == 0 && ContinuousClock.now < deadline {
            _ = mb.receive(timeout: .milliseconds(20)) { _ in false }   // drives the backend, takes nothing
        }
        #expect(mb.count == 1)
        try await a.client.send([1])
        var aboutA = mb.messages(about: a.server).makeAsyncIterator()
        let ma = try #require(await aboutA.next())
        #expect(ma.socket == a.server && ma.handle == ra.handle)
        var byHandle = mb.messages(handle: rb.handle!).makeAsyncIterator()
        let mbm = try #require(await byHandle.next())
        #expect(mbm.socket == b.server && mbm.handle == rb.handle)
        #expect(mb.count == 0)
    }

    @Test("1,000 concurrent connections echo through one nowait server", arguments: Backend.allCases)
    func thousandConnections(backend: Backend) throws {
        if let reason = Machine.descriptorShortfall(4096) { try Machine.skip(reason) }
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        if limit.rlim_cur < 4096 {
            limit.rlim_cur = min(limit.rlim_max, 4096)
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        let l = try listener(on: backend)
        defer { try? l.close() }
        let count = 1000
        var clients: [Socket] = []
        var servers: [Socket] = []
        defer { for s in clients + servers { try? s.close() } }
        for _ in 0..<count {
            let c = try Socket.open(.inet, .stream, .tcp, backend: backend.instance())
            try c.connect(l.sockname(), timeout: .seconds(5))
            clients.append(c)
            servers.append(try l.accept(timeout: .seconds(5)))
        }
        // Every server socket waits for 8 bytes through one mailbox; every client sends its id.
        let mb = Mailbox()
        var byHandle: [Handle: Int] = [:]
        var got = [[UInt8]?](repeating: nil, count: count)
        for (i, s) in servers.enumerated() {
            switch try s.recv(length: 8, nowait: mb) {
            case .done(let d): got[i] = d
            case let pending: byHandle[pending.handle!] = i
            }
        }
        for (i, c) in clients.enumerated() {
            try c.send(withUnsafeBytes(of: UInt64(i).littleEndian) { Array($0) })
        }
        while byHandle.count > 0 {
            let m = try #require(mb.receive(timeout: .seconds(10)), "\(byHandle.count) receives never completed")
            let index = m.handle.flatMap { byHandle.removeValue(forKey: $0) }
            let i = try #require(index)
            switch m {
            case .select:
                // The select message makes this mailbox's call current: it calls again.
                got[i] = try servers[i].recv(length: 8, nowait: mb).doneValue
            case .completion(_, _, .received(let d)):
                got[i] = d
            default:
                Issue.record("unexpected \(m)")
            }
        }
        for i in 0..<count {
            #expect(got[i] == withUnsafeBytes(of: UInt64(i).littleEndian) { Array($0) })
        }
    }
}

extension Pending {
    /// The value of a `.done` answer, or nil.
    var doneValue: Value? {
        if case .done(let v) = self { return v }
        return nil
    }
}
