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
}
