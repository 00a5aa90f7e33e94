import ESock
import Synchronization
import SystemPackage
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Waits (bounded, polling a condition; no sleep) until `condition` holds.
func eventually(_ what: Comment, _ condition: () throws -> Bool, sourceLocation: SourceLocation = #_sourceLocation) async throws {
    let deadline = ContinuousClock.now + .seconds(10)
    while try !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("timed out waiting: \(what)", sourceLocation: sourceLocation)
            return
        }
        await Task.yield()
    }
}

// The limit is a safety net for a hang, not a measure: under a sanitizer on a loaded two-core machine the
// blocking tests running alongside can keep the cooperative pool busy for minutes.
@Suite("async/await calls", .leakChecked, .timeLimit(.minutes(5)))
struct AsyncAwaitTests {
    @Test(arguments: Backend.allCases)
    func echoOverAsyncCalls(backend: Backend) async throws {
        let l = try listener(on: backend)
        defer { try? l.close() }
        let address = try l.sockname()
        let server = Task {
            let s = try await l.accept()
            defer { try? s.close() }
            var total = 0
            while true {
                let d: [UInt8]
                do {
                    d = try await s.recv()
                } catch let e as SocketError where e.reason == .closed {
                    return total
                }
                total += d.count
                try await s.send(d)
            }
        }
        let c = try Socket.open(.inet, .stream, .tcp, backend: backend.instance())
        try await c.connect(address)
        for size in [1, 64, 4096, 300_000] {
            let data = pattern(size, seed: size)
            try await c.send(data)
            #expect(try await c.recv(length: size) == data)
        }
        try c.close()
        let echoed = try await server.value
        #expect(echoed == 1 + 64 + 4096 + 300_000)
    }

    /// The name of the calling thread (the backends name theirs esock-epoll / esock-harvest).
    static func threadName() -> String {
        let fd = open("/proc/thread-self/comm", O_RDONLY)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = read(fd, &buffer, buffer.count)
        return String(decoding: buffer.prefix(max(n, 0)).filter { $0 != 10 }, as: UTF8.self)
    }

    @Test("tasks preferring the backend's executor run on its thread, echo and cancel there",
          arguments: Backend.allCases)
    func tasksOnTheBackendExecutor(backend: Backend) async throws {
        let io = try backend.instance()
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        let expectedThread = backend.model == .select ? "esock-epoll" : "esock-harvest"
        let server = Task(executorPreference: io.executor) { () async throws -> [String] in
            var threads: [String] = []
            for _ in 0..<3 {
                let d = try await p.server.recv()
                threads.append(Self.threadName())
                try await p.server.send(d)
            }
            return threads
        }
        for i in 0..<3 {
            let data = pattern(100 + i, seed: i)
            try await p.client.send(data)
            #expect(try await p.client.recv(length: data.count) == data)
        }
        let threads = try await server.value
        #expect(threads == Array(repeating: expectedThread, count: 3))
        // Cancelling a task waiting on the executor cancels its operation.
        let waiting = Task(executorPreference: io.executor) { try await p.server.recv(length: 10) }
        try await eventually("the recv is waiting") { p.server.info().numReaders == 1 }
        waiting.cancel()
        if case .failure(let e as SocketError) = await waiting.result {
            #expect(e.reason == .cancelled)
        } else {
            Issue.record("the cancelled recv did not fail with cancelled")
        }
        #expect(p.server.info().numReaders == 0)
    }

    @Test(arguments: Backend.allCases)
    func cancellingARecvTaskCancelsTheOperation(backend: Backend) async throws {
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        let task = Task { try await p.server.recv(length: 10) }
        try await eventually("the recv is waiting") { p.server.info().numReaders == 1 }
        task.cancel()
        let result = await task.result
        #expect(throws: SocketError.self) { try result.get() }
        if case .failure(let e as SocketError) = result { #expect(e.reason == .cancelled) }
        #expect(p.server.info().numReaders == 0)
        // The socket goes on working: data sent after the cancel goes to the next reader.
        try await p.client.send(pattern(10))
        #expect(try await p.server.recv(length: 10) == pattern(10))
    }

    @Test(arguments: Backend.allCases)
    func cancellingAnAcceptTaskCancelsTheOperation(backend: Backend) async throws {
        let l = try listener(on: backend)
        defer { try? l.close() }
        let task = Task { try await l.accept() }
        try await eventually("the accept is waiting") { l.info().numAcceptors == 1 }
        task.cancel()
        if case .failure(let e as SocketError) = await task.result {
            #expect(e.reason == .cancelled)
        } else {
            Issue.record("the cancelled accept returned a socket")
        }
        let c = try Socket.open(.inet, .stream, .tcp, backend: backend.instance())
        defer { try? c.close() }
        try await c.connect(try l.sockname())
        let s = try await l.accept()
        try s.close()
    }

    /// Cancel racing the data's arrival: each round the bytes arrive exactly once, in the
    /// cancelled call's result or in the next recv, never lost and never twice.
    ///
    /// The work is bounded, not the time it takes (200 racing rounds once took over a minute on a
    /// loaded machine under ThreadSanitizer): 48 rounds, in a quarter of them the cancel comes
    /// first (the recv is waiting, no data yet), in a quarter the data comes first (the recv has
    /// returned it), and in half the two race (the cancel right after the send, with a yield
    /// between them or not). Both orders happen whatever the machine's speed.
    @Test(arguments: Backend.allCases)
    func cancelRacingArrivalLosesNothing(backend: Backend) async throws {
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        var received: [UInt8] = []
        var expected: [UInt8] = []
        var completed = 0, cancelled = 0
        func take(_ result: Result<[UInt8], any Error>) {
            switch result {
            case .success(let d):
                received += d
                completed += 1
            case .failure(let e as SocketError):
                #expect(e.reason == .cancelled)
                if case .received(let part)? = e.partial { received += part }
                cancelled += 1
            case .failure(let e):
                Issue.record("unexpected error \(e)")
            }
        }
        for round in 0..<48 {
            let chunk = pattern(32, seed: round)
            expected += chunk
            let task = Task { try await p.server.recv(length: 32) }
            switch round % 4 {
            case 0:
                try await eventually("the recv is waiting") { p.server.info().numReaders == 1 }
                task.cancel()
                take(await task.result)
                try await p.client.send(chunk)
            case 1:
                try await p.client.send(chunk)
                let result = await task.result
                task.cancel()
                take(result)
            default:
                try await p.client.send(chunk)
                if round % 4 == 3 { await Task.yield() }
                task.cancel()
                take(await task.result)
            }
            // What the cancelled call did not take comes with the next recv.
            let missing = expected.count - received.count
            if missing > 0 { received += try await p.server.recv(length: missing) }
            #expect(received.count == expected.count)
        }
        #expect(received == expected)
        #expect(completed >= 12 && cancelled >= 12, "\(completed) completed, \(cancelled) cancelled")
    }

    @Test(arguments: Backend.allCases)
    func asyncSendfileSendsTheWholeFile(backend: Backend) async throws {
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        let content = pattern(3 << 20, seed: 7)
        var path = Array("/tmp/esock-async-sendfile-XXXXXX".utf8CString)
        let fd = mkstemp(&path)
        try #require(fd >= 0)
        defer { close(fd); unlink(path) }
        try #require(content.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == content.count)
        let reader = Task { try await p.client.recv(length: content.count) }
        let sent = try await p.server.sendfile(FileDescriptor(rawValue: fd), offset: 0, count: 0)
        #expect(sent == content.count)
        #expect(try await reader.value == content)
        #expect(p.server.info().counters.sendfile >= 1)
    }

    @Test(arguments: Backend.allCases)
    func asyncErrorsKeepTheirReason(backend: Backend) async throws {
        // Connection refused: a port bound and not listening.
        let (holder, address) = try refusingAddress(on: backend.instance())
        defer { try? holder.close() }
        let l = try listener(on: backend)
        try l.close()
        let c = try Socket.open(.inet, .stream, .tcp, backend: backend.instance())
        defer { try? c.close() }
        await #expect(throws: SocketError.posix(ECONNREFUSED)) { try await c.connect(address) }
        // A closed socket.
        await #expect(throws: SocketError.closed) { try await l.accept() }
    }
}
