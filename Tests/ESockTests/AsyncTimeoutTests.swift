import ESock
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Async calls take a timeout with the blocking forms' semantics: `timeout` with what moved, a
/// zero timeout tries once, and the data of a receive of whatever is available that came in time
/// is the answer. The deadline runs on the backend's timers, with no task or thread per wait.
@Suite("Async calls with timeouts", .leakChecked, .timeLimit(.minutes(5)))
struct AsyncTimeoutTests {
    @Test("an async receive with nothing to receive times out; one of a length carries the part that came",
          arguments: Backend.allCases)
    func receiveTimesOut(_ backend: Backend) async throws {
        _ = try backend.instance()
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        let start = ContinuousClock.now
        await #expect(throws: SocketError.timeout) { try await p.server.recv(timeout: .milliseconds(50)) }
        #expect(ContinuousClock.now - start >= .milliseconds(50))
        #expect(p.server.info().numReaders == 0)
        try await p.client.send([1, 2])
        do {
            // The bytes are the part even when the select backend's epoll thread has not seen
            // them arrive by the deadline (LaggingReadinessTests).
            _ = try await p.server.recv(length: 5, timeout: .milliseconds(50))
            Issue.record("5 bytes with 2 there")
        } catch {
            #expect(error.reason == .timeout)
            #expect(error.partial == .received([1, 2]))
        }
        // Data in time is the answer; zero tries once.
        try await p.client.send([3])
        #expect(try await p.server.recv(timeout: .seconds(5)) == [3])
        await #expect(throws: SocketError.timeout) { try await p.server.recv(timeout: .zero) }
        try await p.client.send([4])
        #expect(try await p.server.recv(timeout: .zero) == [4])
    }

    @Test("async accept, send and sendfile time out as the blocking forms do", arguments: Backend.allCases)
    func otherCallsTimeOut(_ backend: Backend) async throws {
        _ = try backend.instance()
        let l = try listener(on: backend)
        defer { try? l.close() }
        await #expect(throws: SocketError.timeout) { try await l.accept(timeout: .milliseconds(20)) }
        #expect(l.info().numAcceptors == 0)
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        let big = pattern(32 << 20)
        do {
            try await p.client.send(big, timeout: .milliseconds(100))
            Issue.record("32 MiB went into a peer that does not read")
        } catch {
            #expect(error.reason == .timeout)
            guard case .rest(let rest)? = error.partial else { Issue.record("no rest"); return }
            #expect(rest.count < big.count && rest == Array(big[(big.count - rest.count)...]))
        }
    }

    /// A deadline that passes as the wait starts: its timer may fire before the task suspends
    /// (then the wait is marked and does not suspend), while it suspends, or after. Each call
    /// ends with `timeout`, none hangs, and no receive is left behind.
    @Test("async receives whose deadline passes as their wait starts time out, each once",
          arguments: Backend.allCases)
    func deadlineAtTheStart(_ backend: Backend) async throws {
        _ = try backend.instance()
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        for i in 0..<200 {
            // 1 µs to 50 µs: from a timer that fired before the wait began to one that fires
            // after the task suspended.
            let timeout = Timeout.after(.microseconds(1 + (i % 50)))
            do throws(SocketError) {
                let data = try await p.server.recv(timeout: timeout)
                Issue.record("round \(i): \(data.count) bytes with nothing sent")
            } catch {
                #expect(error.reason == .timeout, "round \(i)")
            }
        }
        #expect(p.server.info().numReaders == 0)
        // The socket still works, and nothing sent was lost to a timed-out receive.
        try await p.client.send([9])
        #expect(try await p.server.recv(timeout: .seconds(5)) == [9])
    }

    @Test("many async receives with timeouts on one backend: each ends at its own deadline or with its data",
          arguments: Backend.allCases)
    func manyDeadlines(_ backend: Backend) async throws {
        let io = try backend.instance()
        let sender = try Socket.open(.inet, .dgram, .udp, backend: io)
        defer { try? sender.close() }
        let udp = (0..<20).compactMap { _ in try? Socket.open(.inet, .dgram, .udp, backend: io) }
        defer { for s in udp { try? s.close() } }
        for s in udp { try s.bind(.loopback(port: 0)) }
        // Half get a datagram in time, half time out; all on the backend's own timers.
        let results = await withTaskGroup(of: Bool.self) { group in
            for (i, s) in udp.enumerated() {
                group.addTask {
                    do throws(SocketError) {
                        _ = try await s.recvfrom(timeout: .milliseconds(i % 2 == 0 ? 5000 : 30))
                        return i % 2 == 0
                    } catch {
                        return i % 2 == 1 && error.reason == .timeout
                    }
                }
            }
            for (i, s) in udp.enumerated() where i % 2 == 0 {
                _ = try? await sender.sendto([UInt8(i)], to: s.sockname())
            }
            var all: [Bool] = []
            for await r in group { all.append(r) }
            return all
        }
        #expect(results.count == 20 && results.allSatisfy { $0 })
    }
}
