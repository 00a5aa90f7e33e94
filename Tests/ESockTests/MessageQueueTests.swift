@testable import ESock
import Testing

/// A mailbox's queue (``MessageQueue``, a ring buffer of messages beside their sequence
/// numbers): arrival order kept through wrap-around, growth and removals from the middle, and
/// each message taken once.
@Suite("MessageQueue: order, selection and growth")
struct MessageQueueTests {
    private func handles(_ messages: [SocketMessage]) -> [UInt64] { messages.compactMap { $0.handle?.id } }

    @Test("messages come out oldest first, across wrap-around and growth, with selective removal", arguments: Backend.allCases)
    func orderAndSelection(backend: Backend) throws {
        let s = try Socket.open(.inet, .stream, .tcp, backend: backend.instance())
        defer { try? s.close() }
        func message(_ id: UInt64) -> SocketMessage { .select(socket: s, handle: Handle(id: id)) }
        var q = MessageQueue()
        #expect(q.count == 0 && q.newest == 0 && q.removeFirst(matching: .any) == nil)
        // Fill and drain in steps so that the head moves round the ring while it grows.
        var expected: [UInt64] = []
        var taken: [UInt64] = []
        var next: UInt64 = 1
        for round in 1...6 {
            for _ in 0..<(round * 3) {
                q.append(message(next))
                expected.append(next)
                next += 1
            }
            for _ in 0..<(round * 2) {
                if let m = q.removeFirst(matching: .any) { taken.append(m.handle!.id) }
            }
        }
        #expect(q.newest == next - 1)
        // A selective receive takes the oldest match from the middle and closes the gap.
        let middle = expected[taken.count + 3]
        #expect(q.removeFirst(matching: .handle(Handle(id: middle)))?.handle?.id == middle)
        #expect(q.removeFirst(matching: .handle(Handle(id: middle))) == nil, "taken once")
        // By sequence number (the predicate receive's path); handles equal numbers here.
        let later = expected[taken.count + 5]
        #expect(q.entries(after: later - 1).first?.0 == later)
        #expect(q.remove(sequence: later)?.handle?.id == later)
        #expect(q.remove(sequence: later) == nil)
        let rest = q.removeAll { _ in true }
        #expect(q.count == 0)
        let all = taken + [middle, later] + handles(rest)
        #expect(all.sorted() == expected, "every message came out once")
        #expect(handles(rest) == expected.filter { !taken.contains($0) && $0 != middle && $0 != later }, "in order")
        // Empty again, it keeps working from wherever its head is.
        q.append(message(next))
        #expect(q.removeFirst(matching: .socket(s))?.handle?.id == next)
    }

    @Test("a long batch of messages of every kind, several sockets, comes out whole and in order (the socket of the one a few places on is prefetched)",
          arguments: Backend.allCases)
    func longBatchOfEveryKind(backend: Backend) throws {
        let io = try backend.instance()
        let sockets = try (0..<3).map { _ in try Socket.open(.inet, .stream, .tcp, backend: io) }
        defer { for s in sockets { try? s.close() } }
        func message(_ i: Int) -> SocketMessage {
            let s = sockets[i % sockets.count]
            switch i % 5 {
            case 0: return .select(socket: s, handle: Handle(id: UInt64(i)))
            case 1: return .completion(socket: s, handle: Handle(id: UInt64(i)), status: .received([UInt8(truncatingIfNeeded: i)]))
            case 2: return .abort(socket: s, handle: Handle(id: UInt64(i)), reason: .closed)
            case 3: return .down(socket: s, monitor: MonitorRef(id: UInt64(i)), reason: .closed)
            default: return .counterWrap(socket: s, counter: "read_byte \(i)")
            }
        }
        var q = MessageQueue()
        let n = 50
        for i in 0..<n {
            let m = message(i)
            // The address the prefetch uses is the socket's object, for every kind of message.
            #expect(m.socketAddress == Unmanaged.passUnretained(sockets[i % sockets.count]).toOpaque())
            q.append(m)
        }
        var out: [SocketMessage] = []
        while let m = q.removeFirst(matching: .any) { out.append(m) }
        #expect(out.count == n && q.count == 0)
        for (i, m) in out.enumerated() {
            #expect(m.socket === sockets[i % sockets.count], "message \(i) names its own socket")
            #expect(m.description == message(i).description, "message \(i) came out as it went in")
        }
    }
}
