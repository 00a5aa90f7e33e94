@testable import ESock
import Testing

/// Which sends go through the completion backend's ring (an SQE of the owner's next batch)
/// and which are tried with send(2) first: on the ring owner's thread a nowait send goes
/// through the ring, an async call's does not (it would suspend until the send's CQE); on any
/// other thread, and on the select backend, no send does. Then the data arrives either way.
@Suite("Send path: through the ring or send(2) first")
struct SendPathTests {
    /// What the backend answers for a nowait caller and for an async call, on the calling thread.
    private static func answers(_ backend: any IOBackend) -> (nowait: Bool, async: Bool) {
        guard let driver = backend as? any IOBackendDriver else { return (false, false) }
        return (driver.sendsThroughKernel(for: .mailbox(Mailbox())), driver.sendsThroughKernel(for: .asyncCall(AsyncCallSlot())))
    }

    /// Sends `message` and reads it back `n` times, blocking the thread.
    private static func echoes(_ client: Socket, _ message: [UInt8], _ n: Int) throws {
        for _ in 0..<n {
            try client.send(message, timeout: .seconds(30))
            #expect(try client.recv(length: message.count, timeout: .seconds(30)) == message)
        }
    }

    @Test("on the ring owner's thread only nowait sends go through the ring", arguments: Backend.allCases)
    func ownerThread(backend: Backend) async throws {
        let io = try backend.instance()
        let ringSends = (io as? CompletionBackend)?.configuration.sendsThroughRing ?? false
        // A task on the backend's executor runs on its owner thread, as a nowait loop in run does.
        let onOwner = await Task(executorPreference: io.executor) { Self.answers(io) }.value
        #expect(onOwner.nowait == ringSends)
        #expect(!onOwner.async, "an async call's send is tried with send(2) first")
        let inRun = try io.run { Self.answers(io) }
        #expect(inRun.nowait == ringSends && !inRun.async)
        let elsewhere = Self.answers(io)
        #expect(!elsewhere.nowait && !elsewhere.async, "off the owner's thread every send is tried first")
    }

    @Test("an async echo on the owner's thread: both directions arrive whole", arguments: Backend.allCases)
    func asyncEchoOnOwner(backend: Backend) async throws {
        let io = try backend.instance()
        let p = try connectedPair(on: io)
        defer { p.closeAll() }
        let message = pattern(3000)
        let server = Task(executorPreference: io.executor) { () async throws -> Void in
            for _ in 0..<20 {
                let got = try await p.server.recv(length: message.count)
                try await p.server.send(got)
            }
        }
        try Self.echoes(p.client, message, 20)
        try await server.value
    }

    @Test("a nowait send sends the array as it was at the call, though the caller then writes to it and drops it",
          arguments: Backend.allCases)
    func nowaitSendKeepsArray(backend: Backend) throws {
        let io = try backend.instance()
        // Off the ring owner's thread (send(2) first, an operation for the rest) and on it (the
        // whole array through the ring on the completion backend).
        for onOwner in [false, true] {
            let p = try connectedPair(on: io)
            defer { p.closeAll() }
            // More than the socket buffers take at once (loopback's grow to a few MiB): the send
            // must wait.
            let size = 16 << 20
            let expected = pattern(size, seed: onOwner ? 7 : 3)
            let received = Locked<[UInt8]>([])
            let reader = onThread {
                let got = try recvAll(p.server, size)
                received.withLock { $0 = got }
            }
            let send: @Sendable () throws -> Void = {
                let mailbox = Mailbox()
                // The caller's own array (its storage shared with nobody but the send).
                var data = pattern(size, seed: onOwner ? 7 : 3)
                var result = try p.client.send(data, nowait: mailbox)
                // The select model's caller sends the rest itself; the completion model's
                // operation keeps what it sends.
                var rest = expected
                if case .select(_, let r?) = result { rest = r }
                // The caller's writes go to a copy of its own, and its array is dropped; memory
                // of the same size is then written over, should any of it have been freed.
                for i in stride(from: 0, to: data.count, by: 512) { data[i] = 0 }
                data = []
                let litter = [UInt8](repeating: 0xFF, count: size)
                #expect(litter.count == size)
                while true {
                    switch result {
                    case .done(let r):
                        #expect(r.isEmpty)
                        return
                    case .select(let info, _):
                        guard case .select = try expectMessage(mailbox, info.handle, timeout: .seconds(30)) else {
                            Issue.record("expected a select message"); return
                        }
                        result = try p.client.send(rest, nowait: mailbox)
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

    @Test("a nowait sendv sends the vector as it was at the call, though the caller then writes to it and drops it",
          arguments: Backend.allCases)
    func nowaitSendvKeepsArrays(backend: Backend) throws {
        let io = try backend.instance()
        for onOwner in [false, true] {
            let p = try connectedPair(on: io)
            defer { p.closeAll() }
            // Four elements of 4 MiB: more than the socket buffers take at once.
            let part = 4 << 20
            let expected = pattern(4 * part, seed: onOwner ? 11 : 5)
            let received = Locked<[UInt8]>([])
            let reader = onThread {
                let got = try recvAll(p.server, 4 * part)
                received.withLock { $0 = got }
            }
            let send: @Sendable () throws -> Void = {
                let mailbox = Mailbox()
                // The caller's own arrays (their storage shared with nobody but the send).
                let whole = pattern(4 * part, seed: onOwner ? 11 : 5)
                var iov = (0..<4).map { Array(whole[($0 * part)..<(($0 + 1) * part)]) }
                var result = try p.client.sendv(iov, nowait: mailbox)
                var rest = (0..<4).map { Array(expected[($0 * part)..<(($0 + 1) * part)]) }
                if case .select(_, let r?) = result { rest = r }
                for i in iov.indices { for j in stride(from: 0, to: part, by: 512) { iov[i][j] = 0 } }
                iov = []
                let litter = (0..<4).map { _ in [UInt8](repeating: 0xFF, count: part) }
                #expect(litter.count == 4)
                while true {
                    switch result {
                    case .done(let r):
                        let allSent = r.allSatisfy { $0.isEmpty }
                        #expect(allSent)
                        return
                    case .select(let info, _):
                        guard case .select = try expectMessage(mailbox, info.handle, timeout: .seconds(30)) else {
                            Issue.record("expected a select message"); return
                        }
                        result = try p.client.sendv(rest, nowait: mailbox)
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
            let got = received.withLock { $0 }
            let same = got == expected
            let firstDifference = same || got.count != expected.count ? nil : (0..<got.count).first { got[$0] != expected[$0] }
            #expect(same, "on the owner's thread: \(onOwner): \(got.count) bytes, first difference at \(firstDifference ?? -1)")
        }
    }
}
