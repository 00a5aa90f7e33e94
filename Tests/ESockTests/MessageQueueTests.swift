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
}
