@testable import ESock
import Testing

/// A backend's socket table names each socket by a key (its place and the place's generation),
/// which the select backend gives epoll as an event's data: a key must find its own socket only,
/// never the socket that took its place after it closed.
@Suite("Socket table: keys find their own socket only", .leakChecked)
struct SocketTableTests {
    @Test("a key of a socket that left finds nothing, also once its place is taken again",
          arguments: Backend.allCases)
    func staleKeys(_ backend: Backend) throws {
        let io = try backend.instance()
        let a = try Socket.open(.inet, .dgram, .udp, backend: io)
        let b = try Socket.open(.inet, .dgram, .udp, backend: io)
        defer {
            try? a.close()
            try? b.close()
        }
        let table = SocketTable()
        let keyA = try table.add(a, backend: "test")
        #expect(keyA != 0, "0 is the wake-up descriptor's epoll data")
        #expect(table.withSockets { $0[keyA] } === a)
        table.remove(a, key: keyA)
        #expect(table.withSockets { $0[keyA] } == nil)
        #expect(table.count == 0)

        // b takes a's place: a new generation, so a new key.
        let keyB = try table.add(b, backend: "test")
        #expect(keyB != keyA)
        #expect(keyB & 0xffff_ffff == keyA & 0xffff_ffff, "the freed place is reused")
        #expect(table.withSockets { $0[keyA] } == nil)
        #expect(table.withSockets { $0[keyB] } === b)

        // Keys nobody was given find nothing (no trap on any value).
        for key: UInt64 in [0, 1 << 32, UInt64.max, keyB &+ 1, keyB ^ (1 << 32)] {
            #expect(table.withSockets { $0[key] } == nil, "key \(key)")
        }
        // Removing twice, a socket by another's key, or by a key nobody was given, changes
        // nothing.
        table.remove(a, key: keyA)
        table.remove(a, key: keyB)
        for key: UInt64 in [0, UInt64.max, keyB &+ 1] { table.remove(b, key: key) }
        #expect(table.withSockets { $0[keyB] } === b)
        #expect(table.count == 1)
        table.remove(b, key: keyB)
        #expect(table.count == 0)
    }
}
