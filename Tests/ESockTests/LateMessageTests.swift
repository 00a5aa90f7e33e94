@testable import ESock
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A call given up (its timeout passed, its task was cancelled) just after its operation ended,
/// but before the thread that ended it posted the message: the operation is no longer in the
/// queue, so the cancel finds nothing, and the result is in the message on its way. The call
/// returns that result (the data a receive took), never `invalid` and never losing the data.
/// (On select the message is "retry now" and the data is still in the socket: the call either
/// tries again and returns it, or times out, having taken nothing, and the next call gets it.)
///
/// The window is widened with ``LatePosts`` (debug builds): the server socket's messages are
/// held back 200 ms, the call's timeout is 50 ms, and the data is sent once the receive waits,
/// so the deadline passes before the message lands whatever the machine's speed (a thread
/// descheduled for longer only makes the message come first, which must work too).
@Suite("a call given up just after its operation ended gets its result", .serialized, .leakChecked)
struct LateMessageTests {
    static let heldBack: UInt32 = 200_000

    func withLatePosts<R>(for socket: Socket, _ body: () async throws -> R) async rethrows -> R {
        LatePosts.delay.store(Self.heldBack, ordering: .relaxed)
        LatePosts.socket.store(socket.id, ordering: .sequentiallyConsistent)
        defer { LatePosts.socket.store(0, ordering: .sequentiallyConsistent) }
        return try await body()
    }

    /// The data came once: in the call's result, or (a timeout that took nothing) in the next
    /// call's.
    static func check(_ result: Result<[UInt8], any Error>?, _ data: [UInt8], _ server: Socket) throws {
        switch result {
        case .success(let d)?:
            #expect(d == data)
        case .failure(let e as SocketError)? where (e.reason == .timeout || e.reason == .cancelled) && e.partial == nil:
            #expect(try server.recv(length: 8, timeout: .seconds(5)) == data, "the data is lost")
        case .failure(let e)?:
            Issue.record("the receive threw \(e) though its data came")
        case nil:
            Issue.record("no result")
        }
        #expect(throws: SocketError.timeout) { try server.recv(timeout: .zero) }
    }

    @Test("a blocking receive whose timeout passes as its message is posted returns the data", arguments: Backend.allCases)
    func blockingReceive(_ backend: Backend) async throws {
        _ = try backend.instance()
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        // A round counts when the data was sent while the receive waited; on a machine so slow
        // that the 50 ms passed first, the round is tried again (at most 20).
        for round in 0..<20 {
            let data = pattern(8, seed: round)
            let got = Locked<Result<[UInt8], SocketError>?>(nil)
            let sent = try await withLatePosts(for: p.server) { () async throws -> Bool in
                let reader = onThread {
                    do throws(SocketError) {
                        let d = try p.server.recv(length: 8, timeout: .milliseconds(50))
                        got.withLock { $0 = .success(d) }
                    } catch {
                        got.withLock { $0 = .failure(error) }
                    }
                }
                try await eventually("the receive waits or ended") {
                    p.server.info().numReaders == 1 || got.withLock { $0 != nil }
                }
                let waiting = p.server.info().numReaders == 1
                if waiting { try await p.client.send(data, timeout: .seconds(5)) }
                try reader()
                return waiting
            }
            guard sent else { continue }
            try Self.check(got.withLock({ $0 })?.mapError { $0 as any Error }, data, p.server)
            return
        }
        try Machine.skip("the 50 ms timeout passed 20 times before the test could send (a very slow machine)")
    }

    /// Runs `body` with a backend of `backend`'s kind of its own and a connected pair on it:
    /// while a test holds its owner, nothing else may wait for it.
    func withOwnBackend(_ backend: Backend, _ body: (any IOBackend, Pair) async throws -> Void) async throws {
        _ = try backend.instance()
        let io = try backend.make()
        defer { io.shutdown() }
        let p = try connectedPair(on: io)
        defer { p.closeAll() }
        try await body(io, p)
    }

    /// A receive is current and (completion backend) in the kernel.
    static func waitsInKernel(_ s: Socket, _ backend: Backend) -> Bool {
        s.state.withLock { $0[current: .readers] != nil && (backend.model == .select || $0.inflight > 0) }
    }

    /// The peer sends with send(2) itself: nothing of a held backend is needed.
    static func sendDirectly(_ data: [UInt8], _ s: Socket) {
        let n = data.withUnsafeBytes { Glibc.send(s.fd, $0.baseAddress, $0.count, 0) }
        #expect(n == data.count)
    }

    /// The other order: the cancel reaches the kernel after the kernel finished the receive.
    /// The backend's owner thread is held busy while the data comes and the receive's time runs
    /// out, so (completion backend) the receive's CQE with all 8 bytes and the cancel's ENOENT
    /// are reaped together once it is let go: the call moved everything it asked for, and
    /// returns it rather than `timeout` carrying all of it.
    @Test("a blocking receive whose kernel operation finished before its cancel returns the data", arguments: Backend.allCases)
    func receiveFinishedBeforeItsCancel(_ backend: Backend) async throws {
        try await withOwnBackend(backend) { io, p in try await receiveFinishedBeforeItsCancel(backend, io, p) }
    }

    func receiveFinishedBeforeItsCancel(_ backend: Backend, _ io: any IOBackend, _ p: Pair) async throws {
        let data = pattern(8, seed: 3)
        let got = Locked<Result<[UInt8], SocketError>?>(nil)
        let reader = onThread {
            do throws(SocketError) {
                let d = try p.server.recv(length: 8, timeout: .milliseconds(300))
                got.withLock { $0 = .success(d) }
            } catch {
                got.withLock { $0 = .failure(error) }
            }
        }
        try await eventually("the receive waits in the kernel, or ended") {
            Self.waitsInKernel(p.server, backend) || got.withLock { $0 != nil }
        }
        let held = try await holdOwner(of: io)
        Self.sendDirectly(data, p.client)
        // The receive's time runs out; its cancel (or, with a multishot receiver, its catch-up
        // with the CQEs not handled yet) waits for the held owner.
        let server = p.server
        let gate = (io as? any PollDriver)?.gate
        try await held.letGo(once: "the receive is being cancelled, catching up, or ended") {
            got.withLock { $0 != nil } || server.state.withLock { $0[current: .readers]?.phase == .cancelling }
                || gate?.hasWork == true
        }
        try reader()
        try Self.check(got.withLock({ $0 })?.mapError { $0 as any Error }, data, p.server)
    }

    /// The async form of the test above: the task is cancelled while the owner is held.
    @Test("an async receive cancelled after its kernel operation finished returns the data", arguments: Backend.allCases)
    func asyncReceiveFinishedBeforeItsCancel(_ backend: Backend) async throws {
        try await withOwnBackend(backend) { io, p in try await asyncReceiveFinishedBeforeItsCancel(backend, io, p) }
    }

    func asyncReceiveFinishedBeforeItsCancel(_ backend: Backend, _ io: any IOBackend, _ p: Pair) async throws {
        let data = pattern(8, seed: 4)
        let server = p.server
        let task = Task { () async throws(SocketError) -> [UInt8] in try await server.recv(length: 8) }
        try await eventually("the receive waits in the kernel") { Self.waitsInKernel(server, backend) }
        let held = try await holdOwner(of: io)
        Self.sendDirectly(data, p.client)
        task.cancel()
        try await held.letGo(once: "the receive is being cancelled, or ended") {
            server.state.withLock { $0[current: .readers] == nil || $0[current: .readers]?.phase == .cancelling }
        }
        try Self.check(await task.result.mapError { $0 as any Error }, data, server)
    }

    @Test("an async receive whose task is cancelled as its message is posted returns the data", arguments: Backend.allCases)
    func asyncReceive(_ backend: Backend) async throws {
        _ = try backend.instance()
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        let data = pattern(8, seed: 2)
        let server = p.server
        let result = try await withLatePosts(for: server) {
            let task = Task { () async throws(SocketError) -> [UInt8] in try await server.recv(length: 8) }
            try await eventually("the receive waits") { server.info().numReaders == 1 }
            try await p.client.send(data, timeout: .seconds(5))
            // The operation left the queue (its data came, or on select its "retry now"); its
            // message is held back.
            try await eventually("the receive ended") { server.info().numReaders == 0 }
            task.cancel()
            return await task.result
        }
        try Self.check(result, data, server)
    }
}
