import ESock
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Receives into the caller's memory and sends from it, with no array on the way, on every
/// backend: the data arrives whole and in order, the usual outcomes (end of stream, timeout,
/// the rest) hold, and the caller's memory is never written after the call returned.
@Suite("Receive into and send from the caller's memory", .leakChecked)
struct BufferTests {
    @Test("recv(into:) takes what is there, in order, across calls and forms", arguments: Backend.allCases)
    func receiveInto(_ backend: Backend) async throws {
        _ = try backend.instance()
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        let data = pattern(100_000, seed: 3)
        let writer = onThread { try p.client.send(data, timeout: .seconds(10)) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 16)
        defer { buffer.deallocate() }
        var got: [UInt8] = []
        var round = 0
        while got.count < data.count {
            let n: Int
            switch round % 3 {
            case 0: n = try Self.blockingReceive(p.server, buffer)
            case 1: n = try await p.server.recv(into: buffer, timeout: .seconds(5))
            default:
                var span = buffer.mutableBytes
                n = try p.server.recv(into: &span, timeout: .seconds(5))
            }
            #expect(n > 0 && n <= buffer.count)
            got += UnsafeRawBufferPointer(rebasing: buffer[0..<n])
            round += 1
        }
        try writer()
        #expect(got == data)
        try p.client.close()
        #expect(throws: SocketError.closed) { try p.server.recv(into: buffer, timeout: .seconds(5)) }
    }

    @Test("recv(into:) into an output span appends after what it holds", arguments: Backend.allCases)
    func receiveIntoOutputSpan(_ backend: Backend) throws {
        _ = try backend.instance()
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        try p.client.send([1, 2, 3], timeout: .seconds(5))
        var storage = [UInt8](repeating: 0, count: 16)
        let count = try storage.withUnsafeMutableBytes { raw throws(SocketError) -> Int in
            var output = OutputRawSpan(buffer: raw, initializedCount: 2)
            _ = try p.server.recv(into: &output, timeout: .seconds(5))
            return output.byteCount
        }
        #expect(count == 5)
        #expect(Array(storage.prefix(5)) == [0, 0, 1, 2, 3])
    }

    @Test("after a timed-out recv(into:) returns, nothing writes into its buffer; the data goes to the next call",
          arguments: Backend.allCases)
    func bufferIsFreeAfterTimeout(_ backend: Backend) throws {
        _ = try backend.instance()
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 16)
        defer { buffer.deallocate() }
        for round in 0..<30 {
            buffer.initializeMemory(as: UInt8.self, repeating: 0xEE)
            var received: [UInt8] = []
            do {
                let n = try p.server.recv(into: buffer, timeout: .milliseconds(round % 2 == 0 ? 1 : 0))
                received = Array(buffer[0..<n])
            } catch {
                #expect(error.reason == .timeout)
                #expect(buffer.allSatisfy { $0 == 0xEE }, "a timed-out receive wrote into the buffer")
            }
            let chunk = pattern(8, seed: round)
            try p.client.send(chunk, timeout: .seconds(5))
            // The buffer, now the caller's again, is not touched by the kernel.
            buffer.initializeMemory(as: UInt8.self, repeating: 0xEE)
            while received.count < chunk.count {
                let n = try p.server.recv(into: buffer, timeout: .seconds(5))
                received += buffer[0..<n]
            }
            #expect(received == chunk)
        }
    }

    @Test("send from the caller's memory: all of it arrives; a timeout tells the rest; spans too",
          arguments: Backend.allCases)
    func sendFromMemory(_ backend: Backend) async throws {
        _ = try backend.instance()
        // On a thread of its own: the reader thread's deadline must not depend on the task pool
        // (see ThreadExecutor).
        try await onOwnExecutor { _ in try await sendFromMemoryBody(backend) }
    }

    func sendFromMemoryBody(_ backend: Backend) async throws {
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        let data = pattern(2 << 20, seed: 4)
        let reader = onThread {
            // A receive per piece, each with its own generous deadline (a loaded machine under a
            // sanitizer is slow); on failure the socket closes, so the sender fails too.
            var got: [UInt8] = []
            let want = data.count * 2 + 6
            do {
                while got.count < want { got += try p.server.recv(length: min(1 << 16, want - got.count), timeout: .seconds(300)) }
            } catch {
                // Said here: the sender's error (the socket closed under it) comes first.
                print("sendFromMemory(\(backend)): the reader failed after \(got.count) bytes: \(error); server \(stallReport(p.server)) client \(stallReport(p.client))")
                try? p.server.close()
                throw error
            }
            #expect(got == data + data + [1, 2, 3, 4, 5, 6])
        }
        let first = UnsafeMutableRawBufferPointer.allocate(byteCount: data.count, alignment: 16)
        defer { first.deallocate() }
        first.copyBytes(from: data)
        #expect(try Self.blockingSend(p.client, UnsafeRawBufferPointer(first), timeout: .seconds(60)) == data.count)
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: data.count, alignment: 16)
        defer { copy.deallocate() }
        copy.copyBytes(from: data)
        let sentAsync = try await p.client.send(UnsafeRawBufferPointer(copy), timeout: .seconds(300))
        #expect(sentAsync == data.count)
        let small: [UInt8] = [1, 2, 3, 4, 5, 6]
        #expect(try Self.blockingSend(p.client, small.span.bytes) == 6)
        try reader()
        // A peer that does not read: timeout, with the rest.
        let big = pattern(32 << 20)
        let bigCopy = UnsafeMutableRawBufferPointer.allocate(byteCount: big.count, alignment: 16)
        defer { bigCopy.deallocate() }
        bigCopy.copyBytes(from: big)
        do throws(SocketError) {
            _ = try Self.blockingSend(p.client, UnsafeRawBufferPointer(bigCopy), timeout: .milliseconds(100))
            Issue.record("32 MiB went into a peer that does not read")
        } catch {
            #expect(error.reason == .timeout)
            guard case .rest(let rest)? = error.partial else { Issue.record("no rest"); return }
            #expect(rest.count < big.count && rest == Array(big[(big.count - rest.count)...]))
        }
    }

    /// The blocking form (an async context would pick the async overload).
    static func blockingReceive(_ s: Socket, _ buffer: UnsafeMutableRawBufferPointer) throws(SocketError) -> Int {
        try s.recv(into: buffer, timeout: .seconds(5))
    }

    static func blockingSend(_ s: Socket, _ bytes: UnsafeRawBufferPointer, timeout: Timeout) throws(SocketError) -> Int {
        try s.send(bytes, timeout: timeout)
    }

    static func blockingSend(_ s: Socket, _ bytes: RawSpan) throws(SocketError) -> Int {
        try s.send(bytes, timeout: .seconds(5))
    }
}
