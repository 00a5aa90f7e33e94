@testable import ESock
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// An actor on a `ThreadExecutor` of its own: it records, after each socket call, whether it
/// runs on its executor again.
actor IsolatedReader {
    let executor: ThreadExecutor
    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
    init(_ executor: ThreadExecutor) { self.executor = executor }

    /// A recv, and whether the actor's code after it runs on the actor's executor.
    func recv(_ socket: Socket, length: Int, timeout: Timeout) async -> (Result<[UInt8], SocketError>, Bool) {
        let before = executor.isCurrent
        let result: Result<[UInt8], SocketError>
        do {
            result = .success(try await socket.recv(length: length, timeout: timeout))
        } catch {
            result = .failure(error)
        }
        return (result, before && executor.isCurrent)
    }

    /// A mailbox's next message, and whether the actor's code after it runs on the actor's
    /// executor.
    func next(_ mailbox: Mailbox) async -> (SocketMessage?, Bool) {
        let before = executor.isCurrent
        let m = await mailbox.next()
        return (m, before && executor.isCurrent)
    }
}

/// The async calls take the caller's isolation (`nonisolated(nonsending)`): however the wait
/// ends (the data came, the timeout, the task's cancel) and whichever thread ended it (the
/// backend's poller, its harvester, the timers), the caller goes on on its own actor.
@Suite("async calls resume on the caller's actor", .leakChecked, .timeLimit(.minutes(5)))
struct ActorIsolationTests {
    @Test(arguments: Backend.allCases)
    func resumesOnTheActorAfterEachKindOfWake(backend: Backend) async throws {
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        let executor = ThreadExecutor(role: .actor)
        defer { executor.shutdown() }
        let reader = IsolatedReader(executor)

        // The data comes while the call waits.
        let waiting = Task { await reader.recv(p.server, length: 8, timeout: .infinity) }
        try await eventually("the recv is waiting") { p.server.info().numReaders == 1 }
        try await p.client.send(pattern(8))
        let (data, onActor) = await waiting.value
        #expect(try data.get() == pattern(8))
        #expect(onActor, "after data")

        // The timeout ends the wait.
        let (timedOut, onActorAfterTimeout) = await reader.recv(p.server, length: 8, timeout: .milliseconds(20))
        if case .failure(let e) = timedOut { #expect(e.reason == .timeout) } else { Issue.record("no timeout") }
        #expect(onActorAfterTimeout, "after the timeout")

        // The task is cancelled while the call waits.
        let cancelled = Task { await reader.recv(p.server, length: 8, timeout: .infinity) }
        try await eventually("the recv is waiting") { p.server.info().numReaders == 1 }
        cancelled.cancel()
        let (result, onActorAfterCancel) = await cancelled.value
        if case .failure(let e) = result { #expect(e.reason == .cancelled) } else { Issue.record("not cancelled") }
        #expect(onActorAfterCancel, "after the cancel")

        // The data is already there: no wait at all.
        try await p.client.send(pattern(8, seed: 1))
        try await eventually("the data is readable") {
            (try? p.server.recv(length: 0, flags: [.peek], timeout: .milliseconds(0)))?.count == 8
        }
        let (ready, onActorReady) = await reader.recv(p.server, length: 8, timeout: .infinity)
        #expect(try ready.get() == pattern(8, seed: 1))
        #expect(onActorReady, "with the data there")

        // A mailbox's async receive, woken by the message of a nowait recv.
        let mailbox = Mailbox()
        let handle = Handle.make()
        _ = try p.server.recv(nowait: mailbox, handle: handle)
        let next = Task { await reader.next(mailbox) }
        try await eventually("the receive is waiting") { mailbox.asyncWaiterCount == 1 }
        try await p.client.send(pattern(4, seed: 2))
        let (message, onActorAfterMessage) = await next.value
        #expect(message?.handle == handle)
        #expect(onActorAfterMessage, "after the mailbox's message")
    }
}
