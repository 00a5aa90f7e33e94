@testable import ESock
import Testing

/// Which sends go through the completion backend's ring (an SQE of the owner's next batch)
/// and which are tried with send(2) first: with `sendsThroughRing` (the default) every send
/// made on the ring owner's thread goes through the ring, an async call's included; without it
/// (completion-plain's configuration here) only a large nowait or blocking send made on the
/// owner's thread goes to the ring before send(2) tried it, and an async call's send never
/// does; on any other thread, and on the select backend, no send does. Then the data arrives
/// either way.
@Suite("Send path: through the ring or send(2) first")
struct SendPathTests {
    /// What the backend answers for a nowait caller and for an async call, on the calling thread.
    private static func answers(_ backend: any IOBackend) -> (nowait: Bool, async: Bool) {
        guard let driver = backend as? any IOBackendDriver else { return (false, false) }
        return (driver.sendsThroughKernel(for: .mailbox(Mailbox()), bytes: 64), driver.sendsThroughKernel(for: .asyncCall(AsyncCallSlot()), bytes: 64))
    }

    /// Whether `io` sends through the ring on its owner's thread (its configuration says so).
    private static func ringSends(_ io: any IOBackend) -> Bool {
        (io as? CompletionBackend)?.configuration.sendsThroughRing ?? false
    }

    /// Sends `message` and reads it back `n` times, blocking the thread.
    private static func echoes(_ client: Socket, _ message: [UInt8], _ n: Int) throws {
        for _ in 0..<n {
            try client.send(message, timeout: .seconds(30))
            #expect(try client.recv(length: message.count, timeout: .seconds(30)) == message)
        }
    }

    @Test("on the ring owner's thread sends go through the ring as configured, off it none does", arguments: Backend.allCases)
    func ownerThread(backend: Backend) async throws {
        let io = try backend.instance()
        let ringSends = Self.ringSends(io)
        // The default sends through the ring; completion-plain keeps send(2) first tested.
        // info() says which.
        #expect(ringSends == (backend == .completion))
        if backend.model == .completion {
            #expect(io.info().settings["sends"]?.hasPrefix(ringSends ? "every send made on the ring owner's thread" : "send(2) first") == true)
        }
        // A task on the backend's executor runs on its owner thread, as a nowait loop in run does.
        let onOwner = await Task(executorPreference: io.executor) { Self.answers(io) }.value
        #expect(onOwner.nowait == ringSends)
        #expect(onOwner.async == ringSends, "an async call's send goes as the configuration says")
        let inRun = try io.run { Self.answers(io) }
        #expect(inRun.nowait == ringSends && inRun.async == ringSends)
        let elsewhere = Self.answers(io)
        #expect(!elsewhere.nowait && !elsewhere.async, "off the owner's thread every send is tried first")
    }

    @Test("on the ring owner's thread a small nowait send is done at once, unless sends go through the ring",
          arguments: Backend.allCases)
    func smallSendOnOwner(backend: Backend) throws {
        let io = try backend.instance()
        let ringSends = Self.ringSends(io)
        let p = try connectedPair(on: io)
        defer { p.closeAll() }
        let message = pattern(64, seed: 7)
        let mailbox = Mailbox()
        let result = try io.run { try p.client.send(message, nowait: mailbox) }
        switch result {
        case .done(let rest):
            #expect(!ringSends, "a send through the ring answers with a completion")
            #expect(rest.isEmpty)
        case .completion(let info):
            #expect(ringSends, "send(2) had room for 64 bytes: the send should be done at once")
            let m = try expectMessage(mailbox, info.handle, timeout: .seconds(30))
            guard case .completion(_, _, .sent) = m else { Issue.record("expected .sent, got \(m)"); return }
        case .select:
            Issue.record("a select message for 64 bytes on an empty socket")
        }
        #expect(try p.server.recv(length: message.count, timeout: .seconds(30)) == message)
    }

    @Test("on the ring owner's thread a large nowait send goes through the ring, a smaller one is tried first",
          arguments: Backend.allCases)
    func largeSendOnOwner(backend: Backend) throws {
        let io = try backend.instance()
        guard let driver = io as? any IOBackendDriver else { Issue.record("not an ESock backend"); return }
        let large = CompletionRules.ringSendBytes
        let onOwner = try io.run {
            (driver.sendsThroughKernel(for: .mailbox(Mailbox()), bytes: large),
             driver.sendsThroughKernel(for: .mailbox(Mailbox()), bytes: large - 1),
             driver.sendsThroughKernel(for: .asyncCall(AsyncCallSlot()), bytes: large))
        }
        let completion = backend.model == .completion
        #expect(onOwner.0 == completion, "a send of \(large) bytes on the owner's thread")
        #expect(onOwner.1 == Self.ringSends(io), "a send of \(large - 1) bytes on the owner's thread")
        #expect(onOwner.2 == Self.ringSends(io), "an async call's send of \(large) bytes on the owner's thread")
        #expect(!driver.sendsThroughKernel(for: .mailbox(Mailbox()), bytes: large), "off the owner's thread")
        // A 64 KiB nowait send made on the owner's thread: a completion message on the completion
        // backend (done at once or a select message on the select backend), and the peer gets it.
        let p = try connectedPair(on: io)
        defer { p.closeAll() }
        let message = pattern(64 * 1024, seed: 9)
        let mailbox = Mailbox()
        let result = try io.run { try p.client.send(message, nowait: mailbox) }
        let gotWhole = Locked<Bool?>(nil)
        let received = onThread {
            let got = try p.server.recv(length: message.count, timeout: .seconds(30))
            gotWhole.withLock { $0 = got == message }
        }
        switch result {
        case .done(let rest):
            #expect(!completion, "a large send on the ring owner's thread goes through the ring")
            #expect(rest.isEmpty)
        case .completion(let info):
            #expect(completion)
            let m = try expectMessage(mailbox, info.handle, timeout: .seconds(30))
            guard case .completion(_, _, .sent) = m else { Issue.record("expected .sent, got \(m)"); return }
        case .select(let info, let rest):
            #expect(!completion)
            _ = try expectMessage(mailbox, info.handle, timeout: .seconds(30))
            let rest = rest ?? []
            if !rest.isEmpty { _ = try p.client.send(rest, timeout: .seconds(30)) }
        }
        try received()
        #expect(gotWhole.withLock { $0 } == true, "the peer did not get the bytes sent")
    }

    @Test("blocking calls on the ring owner's thread: a send that must wait and an echo arrive whole",
          arguments: Backend.allCases)
    func blockingOnOwner(backend: Backend) throws {
        let io = try backend.instance()
        let p = try connectedPair(on: io)
        defer { p.closeAll() }
        // More than the socket buffers take at once: the send must wait for the peer, which
        // reads on a thread of its own, then echoes a small message back.
        let size = 16 << 20
        let bulk = pattern(size, seed: 11)
        let small = pattern(100, seed: 12)
        let gotWhole = Locked<Bool?>(nil)
        let peer = onThread {
            let got = try p.server.recv(length: size, timeout: .seconds(30))
            // Compared here, not by #expect (its report of two differing arrays this long
            // would take minutes).
            gotWhole.withLock { $0 = got == bulk }
            try p.server.send(small, timeout: .seconds(30))
        }
        let (rest, back) = try io.run { () throws -> ([UInt8], [UInt8]) in
            let rest = try p.client.send(bulk, timeout: .seconds(30))
            return (rest, try p.client.recv(length: small.count, timeout: .seconds(30)))
        }
        try peer()
        #expect(rest.isEmpty)
        #expect(p.client.counters.writeWaits > 0, "the send was expected to wait for the peer")
        #expect(gotWhole.withLock { $0 } == true, "the peer did not get the bytes sent")
        #expect(back == small)
    }

    @Test("an async echo on the owner's thread, then a send that must wait: both directions arrive whole",
          arguments: Backend.allCases)
    func asyncEchoOnOwner(backend: Backend) async throws {
        let io = try backend.instance()
        let p = try connectedPair(on: io)
        defer { p.closeAll() }
        let message = pattern(3000)
        // Then more than the socket buffers take at once: with the ring sends (the default
        // configuration) the async send waits for its CQE while the client reads.
        let bulk = pattern(8 << 20, seed: 13)
        let server = Task(executorPreference: io.executor) { () async throws -> Void in
            for _ in 0..<20 {
                let got = try await p.server.recv(length: message.count)
                try await p.server.send(got)
            }
            try await p.server.send(bulk)
            try await p.server.send(message)
        }
        try Self.echoes(p.client, message, 20)
        // Compared here, not by #expect (its report of two differing arrays this long would
        // take minutes).
        let gotBulk = try recvAll(p.client, bulk.count) == bulk
        #expect(gotBulk, "the 8 MiB async send arrived whole and in order")
        #expect(try recvAll(p.client, message.count) == message)
        try await server.value
    }

    @Test("an async send from caller memory on the owner's thread, cancelled while the peer does not read: the kernel reads none of it after the call returns",
          arguments: Backend.allCases)
    func cancelledAsyncSendOnOwner(backend: Backend) async throws {
        let io = try backend.instance()
        let p = try connectedPair(on: io)
        defer { p.closeAll() }
        let size = 32 << 20
        let big = pattern(size, seed: 14)
        let memory = CallerMemory(size)
        defer { memory.bytes.deallocate() }
        memory.bytes.copyBytes(from: big)
        let sending = Task(executorPreference: io.executor) { () async -> Result<Int, SocketError> in
            do throws(SocketError) {
                // A deadline, should cancelling fail to end the call (then reported below).
                return .success(try await p.client.send(UnsafeRawBufferPointer(memory.bytes), timeout: .seconds(120)))
            } catch {
                return .failure(error)
            }
        }
        // The first bytes arrive: the send is under way, and 32 MiB cannot all be in the
        // socket buffers, so it waits for this reader, which stops here.
        let head = try recvAll(p.server, 64 * 1024)
        #expect(head == Array(big[..<head.count]))
        sending.cancel()
        var sent = size
        switch await sending.value {
        case .success(let n):
            Issue.record("32 MiB went into a peer that stopped reading (\(n) bytes)")
        case .failure(let error):
            #expect(error.reason == .cancelled)
            if case .rest(let rest)? = error.partial {
                sent = size - rest.count
                #expect(rest == Array(big[sent...]), "the rest is what was not sent")
            } else {
                Issue.record("no rest in \(error)")
            }
        }
        // The call returned: the kernel is done with the memory. Written over, it must not
        // reach the peer, which now reads up to the end of the stream.
        memory.bytes.initializeMemory(as: UInt8.self, repeating: 0xFF)
        try p.client.shutdown(.write)
        let got = try head + Self.recvToEnd(p.server)
        // Compared here, not by #expect (its report of two differing arrays this long would
        // take minutes).
        let same = got.count == sent && got.elementsEqual(big[..<sent])
        #expect(same, "the peer got \(got.count) bytes, \(sent) were sent")
    }

    /// What `s` receives up to the end of the stream (Erlang: `{error, closed}`).
    private static func recvToEnd(_ s: Socket) throws(SocketError) -> [UInt8] {
        var got: [UInt8] = []
        while true {
            do {
                got += try s.recv(length: 0, timeout: .seconds(60))
            } catch {
                if error.reason == .closed { return got }
                throw error
            }
        }
    }

    /// Sends `size` bytes (the pattern of `seed`) with `first`, which sends arrays of the
    /// caller's own and then writes to them and drops them, and follows the model's messages
    /// until all went (`again` sends the select model's rest); checks, off and on the ring
    /// owner's thread, that the peer got the bytes as they were at the call. Memory of the same
    /// size is written over meanwhile, should any of the caller's have been freed.
    private static func checkSendKeepsData<Rest>(
        _ backend: Backend, size: Int, seed: Int, wholeRest: @escaping @Sendable ([UInt8]) -> Rest,
        first: @escaping @Sendable (Socket, Mailbox, [UInt8]) throws -> Pending<Rest>,
        again: @escaping @Sendable (Socket, Mailbox, Rest) throws -> Pending<Rest>,
        allSent: @escaping @Sendable (Rest) -> Bool
    ) throws {
        let io = try backend.instance()
        // Off the ring owner's thread (send(2) first, an operation for the rest) and on it (the
        // same by default; all of it through the ring where the configuration sends through
        // the ring, as completion-plain's does).
        for onOwner in [false, true] {
            let p = try connectedPair(on: io)
            defer { p.closeAll() }
            let expected = pattern(size, seed: seed)
            let received = Locked<[UInt8]>([])
            let reader = onThread {
                let got = try recvAll(p.server, size)
                received.withLock { $0 = got }
            }
            let send: @Sendable () throws -> Void = {
                let mailbox = Mailbox()
                var result = try first(p.client, mailbox, pattern(size, seed: seed))
                // The select model's caller sends the rest itself; the completion model's
                // operation keeps what it sends.
                var rest = wholeRest(expected)
                if case .select(_, let r?) = result { rest = r }
                withExtendedLifetime([UInt8](repeating: 0xFF, count: size)) {}
                while true {
                    switch result {
                    case .done(let r):
                        #expect(allSent(r))
                        return
                    case .select(let info, _):
                        guard case .select = try expectMessage(mailbox, info.handle, timeout: .seconds(30)) else {
                            Issue.record("expected a select message"); return
                        }
                        result = try again(p.client, mailbox, rest)
                        if case .select(_, let r?) = result { rest = r }
                    case .completion(let info):
                        let m = try expectMessage(mailbox, info.handle, timeout: .seconds(30))
                        guard case .completion(_, _, .sent) = m else { Issue.record("expected .sent, got \(m)"); return }
                        return
                    }
                }
            }
            if onOwner { try io.run(send) } else { try send() }
            try reader()
            // Compared here, not by #expect (its report of two differing arrays this long would
            // take minutes).
            let got = received.withLock { $0 }
            let same = got == expected
            let firstDifference = same || got.count != size ? nil : (0..<size).first { got[$0] != expected[$0] }
            #expect(same, "on the owner's thread: \(onOwner): \(got.count) bytes, first difference at \(firstDifference ?? -1)")
        }
    }

    @Test("a nowait send sends the array as it was at the call, though the caller then writes to it and drops it",
          arguments: Backend.allCases)
    func nowaitSendKeepsArray(backend: Backend) throws {
        // More than the socket buffers take at once (loopback's grow to a few MiB): the send
        // must wait.
        try Self.checkSendKeepsData(backend, size: 16 << 20, seed: 3, wholeRest: { $0 }, first: { s, mailbox, bytes in
            var data = bytes
            let result = try s.send(data, nowait: mailbox)
            for i in stride(from: 0, to: data.count, by: 512) { data[i] = 0 }
            data = []
            return result
        }, again: { s, mailbox, rest in
            try s.send(rest, nowait: mailbox)
        }, allSent: { $0.isEmpty })
    }

    @Test("a nowait sendv sends the vector as it was at the call, though the caller then writes to it and drops it",
          arguments: Backend.allCases)
    func nowaitSendvKeepsArrays(backend: Backend) throws {
        // Four elements of 4 MiB.
        let part = 4 << 20
        let split: @Sendable ([UInt8]) -> [[UInt8]] = { whole in (0..<4).map { Array(whole[($0 * part)..<(($0 + 1) * part)]) } }
        try Self.checkSendKeepsData(backend, size: 4 * part, seed: 5, wholeRest: split, first: { s, mailbox, bytes in
            var iov = split(bytes)
            let result = try s.sendv(iov, nowait: mailbox)
            for i in iov.indices { for j in stride(from: 0, to: part, by: 512) { iov[i][j] = 0 } }
            iov = []
            return result
        }, again: { s, mailbox, rest in
            try s.sendv(rest, nowait: mailbox)
        }, allSent: { $0.allSatisfy { $0.isEmpty } })
    }
}

/// Memory of the caller's own, for a test whose task sends from it (`@unchecked Sendable`: the
/// test hands it to one task and uses it again only after that task's call returned).
private final class CallerMemory: @unchecked Sendable {
    let bytes: UnsafeMutableRawBufferPointer
    init(_ size: Int) { bytes = .allocate(byteCount: size, alignment: 16) }
}
