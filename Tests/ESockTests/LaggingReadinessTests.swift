#if canImport(Glibc)
import Glibc
#endif
@testable import ESock
import Testing

/// A receive whose time runs out while the backend has not yet reported data that the kernel
/// already holds gets that data, as OTP's receive, which always reads first, does. On select, a
/// receive made after a read that drained the socket skips its own read and waits for the
/// epoll thread to report new data; when that thread lagged past the call's deadline (a loaded
/// machine), the call timed out with the bytes still in the kernel. On completion the same
/// happened when the ring owner had not handled the multishot receiver's CQE by the deadline.
/// Each test holds the backend's delivery back to make the lag certain.
@Suite("Receives whose backend lags behind the kernel", .leakChecked, .timeLimit(.minutes(5)))
struct LaggingReadinessTests {
    /// Holds back every delivery of readiness on a select backend while `body` runs: its
    /// background thread is kept in a job (it does not poll; other tests' waiters whose
    /// mailboxes span backends make it poll every backend), and, where callers lead the epoll
    /// wait, the test's thread takes the role and does not poll either.
    private static func withDeliveryHeld(_ io: SelectBackend, _ body: () throws -> Void) throws {
        let entered = Latch()
        let release = Latch()
        let finished = Latch()
        Thread {
            _ = try? io.run { entered.set(); release.wait() }
            finished.set()
        }.start()
        entered.wait()
        defer {
            release.set()
            finished.wait()
        }
        guard io.gate.callersLead else { return try body() }
        // The background thread gave the role up before it took the job, and nobody else
        // waits on this backend.
        try #require(io.gate.tryLeadNow(), "the role is free")
        defer { io.gate.release() }
        try body()
    }

    /// A fresh select backend of `backend`'s kind, a connected pair on it whose server has just
    /// drained its socket, and the backend shut down after `body`. On a new thread: the mailbox
    /// of a thread that waited on another backend before spans both, and then the background
    /// thread polls for it (the gate would not be free).
    private func drainedPair(_ backend: Backend, _ body: @escaping @Sendable (SelectBackend, Pair) throws -> Void) throws {
        let io = try #require(try backend.make() as? SelectBackend)
        defer { io.shutdown() }
        try onThread {
            let p = try connectedPair(on: io)
            defer { p.closeAll() }
            try p.client.send([0], timeout: .seconds(5))
            #expect(try p.server.recv(timeout: .seconds(5)) == [0])
            try body(io, p)
        }()
    }

    @Test("a timed-out receive of a length returns the bytes the backend had not reported",
          arguments: [Backend.select, .selectThread])
    func receiveOfLength(_ backend: Backend) throws {
        try drainedPair(backend) { io, p in
            try Self.withDeliveryHeld(io) {
                try p.client.send([1, 2], timeout: .seconds(5))
                do {
                    _ = try p.server.recv(length: 5, timeout: .milliseconds(50))
                    Issue.record("5 bytes with 2 there")
                } catch let error as SocketError {
                    #expect(error.reason == .timeout)
                    #expect(error.partial == .received([1, 2]))
                }
                // All of it there: the call is done.
                try p.client.send([3, 4, 5], timeout: .seconds(5))
                #expect(try p.server.recv(length: 3, timeout: .milliseconds(50)) == [3, 4, 5])
            }
            #expect(p.server.info().numReaders == 0)
        }
    }

    @Test("a timed-out receive of whatever is there answers with it; into memory too; the end waits for the next call",
          arguments: [Backend.select, .selectThread])
    func receiveOfWhateverIsThere(_ backend: Backend) throws {
        try drainedPair(backend) { io, p in
            try Self.withDeliveryHeld(io) {
                try p.client.send([7, 8], timeout: .seconds(5))
                #expect(try p.server.recv(timeout: .milliseconds(50)) == [7, 8])
                try p.client.send([9], timeout: .seconds(5))
                var memory = [UInt8](repeating: 0, count: 4)
                let n = try memory.withUnsafeMutableBytes { try p.server.recv(into: $0, timeout: .milliseconds(50)) }
                #expect(n == 1 && memory[0] == 9)
                // The peer's close seen by the last read: the timed-out call reports its
                // timeout, the next one the end.
                try p.client.close()
                #expect(throws: SocketError.timeout) { try p.server.recv(length: 2, timeout: .milliseconds(50)) }
                #expect(throws: SocketError.closed) { try p.server.recv(length: 2, timeout: .milliseconds(50)) }
            }
        }
    }

    @Test("select: a receive whose time runs out after readiness was reported, before its call read again, gets the data",
          arguments: [Backend.select, .selectThread])
    func timedOutAfterReadiness(_ backend: Backend) throws {
        // The race a loaded machine makes (seen under ThreadSanitizer in CI): the epoll thread
        // reports the data (the receive's select message is posted) just after the call's
        // deadline woke it, so the call cancels an operation whose select message came and
        // whose kernel read was never made. Made certain here: the select message is taken
        // from the mailbox, then the operation is given up as a timed-out call gives it up.
        try drainedPair(backend) { io, p in
            let mb = Mailbox()
            let pending = try p.server.recv(length: 5, nowait: mb)
            let handle = try #require(pending.handle)
            try p.client.send([1, 2], timeout: .seconds(5))
            guard case .select = try expectMessage(mb, handle) else {
                Issue.record("a select message for \(handle)")
                return
            }
            let op = try p.server.cancelOperation(tag: .recv, handle: handle, what: "recv \(handle)",
                                                  takingData: true, timedOut: true)
            #expect(op.received == [1, 2])
            // Read once: nothing is left for the next receive.
            #expect(throws: SocketError.timeout) { try p.server.recv(timeout: .zero) }
            #expect(p.server.info().numReaders == 0)
        }
    }

    @Test("completion: a receive whose time runs out while the ring owner has not handled its receiver's data gets it",
          arguments: [Backend.completion])
    func ringOwnerBehind(_ backend: Backend) async throws {
        try backend.requireAvailable()
        let io = try #require(try backend.make() as? CompletionBackend)
        defer { io.shutdown() }
        let p = try connectedPair(on: io)
        defer { p.closeAll() }
        // A receive that waits arms the multishot receiver.
        let mb = Mailbox()
        let handle = Handle.make()
        _ = try p.server.recv(nowait: mb, handle: handle)
        try await p.client.send([0], timeout: .seconds(5))
        guard case .completion(_, _, .received([0])) = try expectMessage(mb, handle) else {
            Issue.record("the nowait receive did not get [0]")
            return
        }
        if p.server.state.withLock({ $0.receiver == nil }) {
            try Machine.skip("this kernel gives no multishot receive: a waiting receive is an SQE of its own, whose cancel waits for the ring owner")
        }
        // The owner is held until a thread hands it work (the catch-up of the receive below)
        // or the receive is over without it: meanwhile it reaps no CQE, and with DEFER_TASKRUN
        // the kernel does not even post the receiver's.
        let held = try await holdOwner(of: io)
        LateMessageTests.sendDirectly([1, 2], p.client)
        let server = p.server
        let outcome = Locked<Result<[UInt8], SocketError>?>(nil)
        let reader = onThread {
            do throws(SocketError) {
                let d = try server.recv(length: 5, timeout: .milliseconds(50))
                outcome.withLock { $0 = .success(d) }
            } catch {
                outcome.withLock { $0 = .failure(error) }
            }
        }
        let gate = io.gate
        try await held.letGo(once: "the timed-out receive asks the owner to catch up, or is over") {
            gate.hasWork || outcome.withLock { $0 != nil }
        }
        try reader()
        switch outcome.withLock({ $0 }) {
        case .failure(let error)?:
            #expect(error.reason == .timeout)
            #expect(error.partial == .received([1, 2]))
        default:
            Issue.record("5 bytes with 2 there: \(String(describing: outcome.withLock { $0 }))")
        }
    }

    @Test("after a read that drained the socket, what came before a receive is that receive's",
          arguments: Backend.allCases)
    func dataBeforeTheCall(_ backend: Backend) throws {
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        for round in 0..<20 {
            let byte = UInt8(round)
            try p.client.send([byte], timeout: .seconds(5))
            #expect(try p.server.recv(length: 1, timeout: .seconds(5)) == [byte])
        }
        try p.client.send([1, 2, 3], timeout: .seconds(5))
        #expect(try p.server.recv(length: 3, timeout: .seconds(5)) == [1, 2, 3])
    }
}
