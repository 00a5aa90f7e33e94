@testable import ESock
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// OTP 27's `sendv/2,3,4` (gather send of an I/O vector on a connected socket) and `rest_iov/2`.
@Suite("sendv and rest_iov")
struct SendvTests {
    /// The bytes the vectors are cut from (made once: building patterns, or joining a vector,
    /// element by element is slow in a debug build).
    static let source = pattern(2 << 20)

    /// `count` consecutive pieces of ``source`` of irregular sizes (`size(i)` bytes; by default
    /// 1 to 683, about 1 MiB for 3000 elements, far more than the small buffers hold), so element
    /// boundaries fall anywhere in what the kernel takes; joined, they are a prefix of it.
    func elements(_ count: Int, size: (Int) -> Int = { 1 + ($0 * 977) % 683 }) -> [[UInt8]] {
        var offset = 0
        return (0..<count).map {
            let n = size($0)
            defer { offset += n }
            return Array(Self.source[offset..<(offset + n)])
        }
    }

    /// A connected pair with small socket buffers, so a vector of a megabyte must wait for a peer
    /// that does not read. Skips the test case where the machine cannot run `backend`.
    ///
    /// The receive buffer stays above loopback's 64 KiB segment: with 16 KiB the receiver never
    /// offers a window of a whole segment, so after a stall the sender moves only at its
    /// zero-window probes, whose interval doubles each time (a reader paused 10 s by a loaded
    /// machine left a plain C-style transfer stalled 3.5 s more; under AddressSanitizer an async
    /// sendv waited over 60 s for its window).
    func smallPair(_ backend: Backend) throws -> Pair {
        _ = try backend.instance()
        let p = try connectedPair(on: backend)
        try p.client.setopt(.socket(.sndbuf), .int(16384))
        try p.server.setopt(.socket(.rcvbuf), .int(256 << 10))
        return p
    }

    /// Everything `s` receives until its peer ends the stream.
    func readToEnd(_ s: Socket) throws -> [UInt8] {
        var got: [UInt8] = []
        while true {
            do {
                got += try s.recv(timeout: .seconds(300))
            } catch {
                #expect(error.reason == .closed)
                return got
            }
        }
    }

    /// Reads `count` bytes from `s` on another thread; the returned function waits for them.
    /// A reader that fails closes `s`, so a sender waiting for it without a timeout (the async
    /// form) fails too instead of waiting for ever.
    func reader(_ s: Socket, _ count: Int, peer: Socket? = nil) -> () throws -> [UInt8] {
        let got = Locked<[UInt8]>([])
        let wait = onThread {
            // A receive per piece, each with a generous deadline: a loaded machine under a
            // sanitizer is slow, and the sender may be an async task that the task pool does not
            // run for a minute while long synchronous tests hold its threads (seen under
            // AddressSanitizer on 2 vCPUs: the sender's select message posted, the task not
            // resumed; its receive side had nothing unread).
            var d: [UInt8] = []
            do {
                while d.count < count { d += try s.recv(length: min(1 << 16, count - d.count), timeout: .seconds(300)) }
                got.withLock { $0 = d }
            } catch {
                // Said here: the sender's error (the socket closed under it) comes first.
                print("sendv reader: failed after \(d.count) of \(count) bytes: \(error); \(stallReport(s)) peer \(peer.map(stallReport) ?? "-")")
                try? s.close()
                throw error
            }
        }
        return {
            try wait()
            return got.withLock { $0 }
        }
    }

    func byteCount(_ iov: [[UInt8]]) -> Int { iov.reduce(0) { $0 + $1.count } }

    /// The bytes of a vector ``elements(_:size:)`` made, joined.
    func joined(_ iov: [[UInt8]]) -> [UInt8] { Array(Self.source.prefix(byteCount(iov))) }

    @Test("a vector of 3000 elements (more than IOV_MAX) arrives intact on a stream, sent in windows of IOV_MAX elements",
          arguments: Backend.allCases)
    func manyElements(_ backend: Backend) throws {
        _ = try backend.instance()
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        let iovMax = ESock.info().iovMax
        let iov = elements(3000) { 1 + $0 % 7 }
        #expect(iov.count > iovMax)
        let total = byteCount(iov)
        let before = p.client.counters
        #expect(try p.client.sendv(iov, timeout: .seconds(10)) == [])
        #expect(try recvAll(p.server, total) == joined(iov))
        let after = p.client.counters
        // One sendmsg(2) per window (the socket's buffer takes it all), one package.
        #expect(after.writeTries - before.writeTries == UInt64((iov.count + iovMax - 1) / iovMax))
        #expect(after.writePkg - before.writePkg == 1)
        #expect(after.writeByte - before.writeByte == UInt64(total))
        // Empty elements, and a vector of nothing at all.
        #expect(try p.client.sendv([[1, 2], [], [3], []], timeout: .seconds(5)) == [])
        #expect(try p.client.sendv([], timeout: .seconds(5)) == [])
        #expect(try recvAll(p.server, 3) == [1, 2, 3])
    }

    @Test("a blocking sendv into a peer that does not read times out with the rest as a vector; what went and the rest make the whole",
          arguments: Backend.allCases)
    func timeoutRest(_ backend: Backend) throws {
        let p = try smallPair(backend)
        defer { p.closeAll() }
        let iov = elements(3000)
        let whole = joined(iov)
        var caught: [[UInt8]]?
        do {
            try p.client.sendv(iov, timeout: .milliseconds(300))
            Issue.record("\(whole.count) bytes went into a peer that does not read")
        } catch {
            #expect(error.reason == .timeout)
            if case .restIOV(let r)? = error.partial { caught = r }
        }
        let rest = try #require(caught, "the timeout carries no rest as a vector")
        let restBytes = byteCount(rest)
        #expect(restBytes > 0 && restBytes < whole.count)
        // The rest is the vector's own tail: its elements as they were, the first one cut.
        #expect(rest == (try Socket.restIOV(whole.count - restBytes, of: iov)))
        #expect(!rest.isEmpty && rest.count < iov.count && rest.dropFirst() == iov.suffix(rest.count - 1))
        #expect(p.client.counters.writePkg == 0)
        // The peer gets what went; then the rest; then the end of the stream: the whole, once.
        #expect(try recvAll(p.server, whole.count - restBytes) == Array(whole.prefix(whole.count - restBytes)))
        let tail = reader(p.server, restBytes)
        #expect(try p.client.sendv(rest, timeout: .seconds(10)) == [])
        #expect(try tail() == Array(whole.suffix(restBytes)))
        try p.client.shutdown(.write)
        #expect(try readToEnd(p.server) == [])
        #expect(p.client.counters.writePkg == 1)
    }

    @Test("a sendv that sent nothing before its time ran out carries no rest (OTP: {error, timeout})",
          arguments: Backend.allCases)
    func timeoutWithNothingSent(_ backend: Backend) throws {
        let p = try smallPair(backend)
        defer { p.closeAll() }
        // Fill the buffers, then send single bytes with a zero timeout (one try each) until one
        // finds no room: it sent nothing.
        _ = try? p.client.sendv(elements(3000), timeout: .milliseconds(100))
        var timedOut: SocketError?
        for _ in 0..<1_000_000 {
            do {
                try p.client.sendv([[0xAB]], timeout: .zero)
            } catch {
                timedOut = error
                break
            }
        }
        let error = try #require(timedOut, "the buffers never filled")
        #expect(error.reason == .timeout)
        #expect(error.partial == nil)
    }

    @Test("nowait sendv: select answers with the rest as partial and the caller continues with it; completion sends it all and says so in one message",
          arguments: Backend.allCases)
    func nowait(_ backend: Backend) throws {
        let p = try smallPair(backend)
        defer { p.closeAll() }
        let mb = Mailbox()
        let iov = elements(3000)
        let whole = joined(iov)
        let first = try p.client.sendv(iov, nowait: mb)
        let all = reader(p.server, whole.count)
        switch first {
        case .done:
            Issue.record("\(whole.count) bytes went at once into a peer that does not read")
        case .select(let info, let partial):
            #expect(backend.model == .select)
            #expect(info.tag == .sendv)
            // Part went before it had to wait: the rest is the vector's tail.
            var rest = try #require(partial)
            #expect(rest == (try Socket.restIOV(whole.count - byteCount(rest), of: iov)))
            var handle = info.handle
            var finished = false
            for _ in 0..<100_000 where !finished {
                guard case .select(let s, let h) = try expectMessage(mb, handle) else {
                    Issue.record("expected a select message"); break
                }
                #expect(s == p.client && h == handle)
                switch try p.client.sendv(rest, nowait: mb) {
                case .done(let left):
                    #expect(left == [])
                    finished = true
                case .select(let next, let part):
                    rest = part ?? rest
                    handle = next.handle
                case .completion:
                    Issue.record("a select backend answered completion"); finished = true
                }
            }
            #expect(finished)
        case .completion(let info):
            #expect(backend.model == .completion)
            #expect(info.tag == .sendv)
            let message = try expectMessage(mb, info.handle)
            guard case .completion(let s, let h, .sent) = message else {
                Issue.record("expected a completion message saying sent, got \(message)"); break
            }
            #expect(s == p.client && h == info.handle)
        }
        #expect(try all() == whole)
        #expect(mb.receive(timeout: .zero) == nil)
        #expect(p.client.counters.writePkg == 1)
        #expect(p.client.counters.writeByte == UInt64(whole.count))
    }

    @Test("cancelling or closing a nowait sendv: on completion the cancel and the abort tell the rest as a vector; what the peer got and the rest make the whole",
          arguments: Backend.allCases)
    func cancelAndClose(_ backend: Backend) throws {
        let iov = elements(3000)
        let whole = joined(iov)
        // cancel
        do {
            let p = try smallPair(backend)
            defer { p.closeAll() }
            let mb = Mailbox()
            var rest: [[UInt8]]
            switch try p.client.sendv(iov, nowait: mb) {
            case .completion(let info):
                let moved = try p.client.cancel(info)
                guard case .restIOV(let r)? = moved else { Issue.record("the cancel tells no rest: \(String(describing: moved))"); return }
                rest = r
            case .select(let info, let partial):
                try p.client.cancel(info)
                rest = partial ?? iov
            case .done:
                Issue.record("\(whole.count) bytes went at once into a peer that does not read"); return
            }
            #expect(mb.receive(timeout: .zero) == nil)
            let restBytes = byteCount(rest)
            #expect(restBytes > 0 && restBytes < whole.count)
            #expect(rest == (try Socket.restIOV(whole.count - restBytes, of: iov)))
            try p.client.shutdown(.write)
            #expect(try readToEnd(p.server) == Array(whole.prefix(whole.count - restBytes)))
            #expect(p.client.counters.writePkg == 0)
        }
        // close
        do {
            let p = try smallPair(backend)
            defer { p.closeAll() }
            let mb = Mailbox()
            let pending = try p.client.sendv(iov, nowait: mb)
            guard let handle = pending.handle else { Issue.record("\(whole.count) bytes went at once"); return }
            var restBytes = 0
            if case .select(_, let partial) = pending { restBytes = byteCount(partial ?? iov) }
            try p.client.close()
            // A select message may come first (room appeared before the close).
            var message = try expectMessage(mb, handle)
            if case .select = message { message = try expectMessage(mb, handle) }
            guard case .abort(_, _, let reason) = message else { Issue.record("no abort: \(message)"); return }
            #expect(reason.reason == .closed)
            if case .completion = pending {
                guard case .restIOV(let r)? = reason.partial else { Issue.record("the abort tells no rest: \(reason)"); return }
                #expect(r == (try Socket.restIOV(whole.count - byteCount(r), of: iov)))
                restBytes = byteCount(r)
            }
            #expect(try readToEnd(p.server) == Array(whole.prefix(whole.count - restBytes)))
        }
    }

    @Test("async sendv returns the rest as the blocking form does; cancelling its task throws cancelled with the rest as a vector",
          arguments: Backend.allCases)
    func asyncForm(_ backend: Backend) async throws {
        _ = try backend.instance()
        // The tasks on a thread of their own: the reader thread's deadline must not depend on
        // the task pool (see ThreadExecutor).
        try await onOwnExecutor { executor in try await asyncFormBody(backend, executor) }
    }

    func asyncFormBody(_ backend: Backend, _ executor: ThreadExecutor) async throws {
        let iov = elements(3000)
        let whole = joined(iov)
        do {
            let p = try smallPair(backend)
            defer { p.closeAll() }
            let all = reader(p.server, whole.count, peer: p.client)
            #expect(try await p.client.sendv(iov) == [])
            #expect(try all() == whole)
            #expect(p.client.counters.writePkg == 1)
        }
        do {
            let p = try smallPair(backend)
            defer { p.closeAll() }
            let client = p.client
            let task = Task(executorPreference: executor) { try await client.sendv(iov) }
            task.cancel()
            var caught: [[UInt8]]?
            switch await task.result {
            case .success:
                Issue.record("\(whole.count) bytes went into a peer that does not read")
            case .failure(let error):
                let e = try #require(error as? SocketError)
                #expect(e.reason == .cancelled)
                if case .restIOV(let r)? = e.partial { caught = r }
                // Nothing went only if the task was cancelled before its first attempt.
                if e.partial == nil { caught = iov }
            }
            let rest = try #require(caught, "the cancelled send tells no rest as a vector")
            let restBytes = byteCount(rest)
            #expect(rest == (try Socket.restIOV(whole.count - restBytes, of: iov)))
            try p.client.shutdown(.write)
            #expect(try readToEnd(p.server) == Array(whole.prefix(whole.count - restBytes)))
        }
    }

    @Test("sendv on a datagram socket sends the vector as one datagram and refuses more than IOV_MAX elements, as OTP does",
          arguments: Backend.allCases)
    func datagram(_ backend: Backend) async throws {
        _ = try backend.instance()
        let (a, b) = try udpPair(on: backend)
        defer { try? a.close(); try? b.close() }
        // Not connected: the kernel wants an address (OTP's writev(2) says the same).
        #expect(throws: SocketError(.posix(.init(rawValue: EDESTADDRREQ)))) { try a.sendv([[1]], timeout: .seconds(5)) }
        try await a.connect(b.sockname(), timeout: .seconds(5))
        #expect(try await a.sendv([[1, 2], [], [3]], timeout: .seconds(5)) == [])
        #expect(try await b.recvfrom(timeout: .seconds(5)).data == [1, 2, 3])
        let mb = Mailbox()
        #expect(try a.sendv([[4], [5, 6]], nowait: mb).doneValue == [])
        #expect(try await b.recvfrom(timeout: .seconds(5)).data == [4, 5, 6])
        #expect(try await a.sendv([[7], [8]]) == [])
        #expect(try await b.recvfrom(timeout: .seconds(5)).data == [7, 8])
        // One datagram cannot be sent in windows: more than IOV_MAX elements is refused.
        let many = (0..<(ESock.info().iovMax + 1)).map { [UInt8(truncatingIfNeeded: $0)] }
        let refusedBlocking = #expect(throws: SocketError.self) { try a.sendv(many, timeout: .seconds(5)) }
        let refusedNowait = #expect(throws: SocketError.self) { try a.sendv(many, nowait: mb) }
        for refused in [refusedBlocking, refusedNowait] {
            guard case .invalid? = refused?.reason else { Issue.record("not invalid: \(String(describing: refused))"); continue }
        }
        // The refused calls sent nothing: the next datagram is the next one the peer gets.
        try await a.sendv([[9]], timeout: .seconds(5))
        #expect(try await b.recvfrom(timeout: .seconds(5)).data == [9])
        #expect(a.counters.writePkg == 4)
        #expect(mb.receive(timeout: .zero) == nil)
    }

    @Test("rest_iov: the part of an I/O vector after N bytes, at 0, at element boundaries, inside elements, and past the end")
    func restIOV() throws {
        let iov: [[UInt8]] = [[1, 2], [3], [4, 5, 6]]
        #expect(try Socket.restIOV(0, of: iov) == iov)
        #expect(try Socket.restIOV(1, of: iov) == [[2], [3], [4, 5, 6]])
        #expect(try Socket.restIOV(2, of: iov) == [[3], [4, 5, 6]])
        #expect(try Socket.restIOV(3, of: iov) == [[4, 5, 6]])
        #expect(try Socket.restIOV(4, of: iov) == [[5, 6]])
        #expect(try Socket.restIOV(6, of: iov) == [])
        // Empty elements the written bytes reach are dropped, as OTP's rest_iov drops them.
        #expect(try Socket.restIOV(0, of: [[], [], [1]]) == [[1]])
        #expect(try Socket.restIOV(2, of: [[1, 2], [], [3]]) == [[3]])
        #expect(try Socket.restIOV(3, of: [[1, 2], [3], []]) == [])
        #expect(try Socket.restIOV(0, of: []) == [])
        #expect(try Socket.restIOV(0, of: [[]]) == [])
        // Past the end, negative, and absurd counts are invalid (Erlang raises), never a trap.
        for (written, vector) in [(7, iov), (100, iov), (Int.max, iov), (-1, iov), (Int.min, iov), (1, [])] {
            do {
                let rest = try Socket.restIOV(written, of: vector)
                Issue.record("\(written) bytes of \(byteCount(vector)) left \(rest)")
            } catch {
                guard case .invalid = error.reason else { Issue.record("\(written): \(error)"); continue }
            }
        }
    }
}
