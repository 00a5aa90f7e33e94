@testable import ESock
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Receives that a multishot receiver serves on the completion backend (one SQE per socket,
/// data read ahead) keep the stream's order and lose nothing, whatever mix of calls follows:
/// the same expectations on every backend.
@Suite("Receive order: read-ahead, multishot receiver, mixed calls", .leakChecked)
struct ReceiveOrderTests {
    @Test("pieces sent before and while receives wait arrive in order, through lengths and whatever-is-there",
          arguments: Backend.allCases)
    func piecesInOrder(_ backend: Backend) async throws {
        let io = try backend.instance()
        let armedBefore = io.info().counters["multishot_receivers"] ?? 0
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        let data = pattern(200_000, seed: 5)
        // A receive waits first (the completion backend arms its receiver), then data flows.
        let first = Task { try await p.server.recv(length: 10) }
        try await eventually("the receive waits") { p.server.info().numReaders == 1 }
        var sent = 0
        for size in [10, 1, 4096, 65536, 3, 100_000] where sent < data.count {
            let n = min(size, data.count - sent)
            try await p.client.send(Array(data[sent..<(sent + n)]), timeout: .seconds(5))
            sent += n
        }
        try await p.client.send(Array(data[sent...]), timeout: .seconds(5))
        var got = try await first.value
        got += try await p.server.recv(length: 5000, timeout: .seconds(5))
        got += try await p.server.recv(length: 1)
        while got.count < data.count { got += try await p.server.recv(timeout: .seconds(5)) }
        #expect(got == data)
        if io.info().settings["multishot_receive"] == "on" {
            #expect((io.info().counters["multishot_receivers"] ?? 0) > armedBefore, "no multishot receive was armed")
        }
    }

    @Test("a nowait receive cancelled while it waits: later data goes to the next receive", arguments: Backend.allCases)
    func cancelledWaitLosesNothing(_ backend: Backend) throws {
        _ = try backend.instance()
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        let mb = Mailbox()
        for round in 0..<20 {
            let pending = try p.server.recv(nowait: mb)
            switch pending {
            case .select(let info, _): try p.server.cancel(info)
            case .completion(let info): try p.server.cancel(info)
            case .done: Issue.record("nothing was sent yet")
            }
            let chunk = pattern(50, seed: round)
            try p.client.send(chunk, timeout: .seconds(5))
            #expect(try recvAll(p.server, 50) == chunk)
        }
        #expect(mb.receive(timeout: .zero) == nil)
    }

    @Test("recvmsg, recvfrom and a peek between plain receives keep the order", arguments: Backend.allCases)
    func mixedCallsKeepOrder(_ backend: Backend) throws {
        _ = try backend.instance()
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        // More than one receive of whatever is available takes (at most `{otp, rcvbuf}`, 64 KiB,
        // on both backends), so that data is left for the calls after it.
        let data = pattern(150_000, seed: 11)
        let mb = Mailbox()
        let waiting = try p.server.recv(nowait: mb)
        try p.client.send(data, timeout: .seconds(5))
        var got: [UInt8] = []
        switch waiting {
        case .select(let info, _):
            _ = try expectMessage(mb, info.handle)
            // The caller that got the select message calls again (it is the current reader).
            got += try #require(try p.server.recv(length: 100, nowait: mb).doneValue)
        case .completion(let info):
            guard case .completion(_, _, .received(let d)) = try expectMessage(mb, info.handle) else {
                Issue.record("no data"); return
            }
            got += d
        case .done(let d):
            got += d
        }
        let peeked = try p.server.recv(length: 10, flags: [.peek], timeout: .seconds(5))
        #expect(peeked == Array(data[got.count..<(got.count + 10)]))
        got += try p.server.recvmsg(bufferSize: 1000, timeout: .seconds(5)).data
        got += try p.server.recvfrom(bufferSize: 500, timeout: .seconds(5)).data
        while got.count < data.count { got += try p.server.recv(timeout: .seconds(5)) }
        #expect(got == data)
    }

    @Test("a peer that sends a lot to a socket nobody reads: nothing lost, the end of the stream after it",
          arguments: Backend.allCases)
    func unreadDataWaits(_ backend: Backend) async throws {
        _ = try backend.instance()
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        // One receive arms the receiver; then nobody reads while 2 MiB arrive.
        try await p.client.send([1], timeout: .seconds(5))
        #expect(try await p.server.recv() == [1])
        let data = pattern(2 << 20, seed: 2)
        let writer = Task { try await p.client.send(data); try p.client.shutdown(.write) }
        try await eventually("data to pile up") { (try? p.server.ioctl(.nread).int ?? 0) ?? 0 > 0 || p.server.counters.readByte > 300_000 }
        let got = Self.readToEnd(p.server)
        try await writer.value
        #expect(got == data)
        #expect(p.server.counters.readFails == 1)
    }

    /// Everything `socket` receives until the end of the stream.
    static func readToEnd(_ socket: Socket) -> [UInt8] {
        var got: [UInt8] = []
        while let d = try? socket.recv(timeout: .seconds(5)) { got += d }
        return got
    }
}
