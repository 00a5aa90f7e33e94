@testable import ESock
import Testing

/// The read-ahead (``ReadAhead``): bytes received before a receive asked for them, kept as the
/// pieces they came in. Every take gives the bytes in order; a receive of whatever is available
/// gets all of it, a lone piece without a copy.
@Suite("Read-ahead: pieces taken in order", .leakChecked)
struct ReadAheadTests {
    private static func bytes(_ range: Range<Int>) -> [UInt8] { range.map { UInt8(truncatingIfNeeded: $0) } }

    @Test("all of it at once: a lone piece as it came, several joined in order")
    func all() {
        var ahead = ReadAhead()
        #expect(ahead.isEmpty && ahead.count == 0)
        #expect(ahead.takeAll() == [])
        ahead.append(Self.bytes(0..<10))
        ahead.append(Self.bytes(10..<30))
        ahead.append(Self.bytes(30..<100))
        #expect(ahead.count == 100)
        #expect(ahead.takeAll() == Self.bytes(0..<100))
        #expect(ahead.isEmpty)
        // A lone piece is the array that was added: the same storage, no copy.
        let piece = Self.bytes(100..<150)
        ahead.append(piece)
        let taken = ahead.takeAll()
        #expect(taken == piece)
        #expect(taken.withUnsafeBufferPointer { $0.baseAddress } == piece.withUnsafeBufferPointer { $0.baseAddress })
        // A piece partly taken, then the rest with what came after it.
        ahead.append(Self.bytes(0..<20))
        ahead.append(Self.bytes(20..<30))
        var out: [UInt8] = []
        ahead.take(5, into: &out)
        #expect(out == Self.bytes(0..<5) && ahead.count == 25)
        #expect(ahead.takeAll() == Self.bytes(5..<30))
        #expect(ahead.isEmpty)
    }

    /// A stream of tiny segments read ahead: small pieces join, so the pieces stay few (the
    /// receiver asks the count at each CQE) and the bytes stay in order; large pieces still go
    /// in as they are.
    @Test("tiny pieces join the last small one; large ones stay as they came")
    func tinyPiecesJoin() {
        var ahead = ReadAhead()
        var expected: [UInt8] = []
        for i in 0..<100_000 {
            let b = UInt8(truncatingIfNeeded: i)
            if i % 2 == 0 { ahead.append([b]) } else { [b].withUnsafeBytes { ahead.append($0) } }
            expected.append(b)
        }
        #expect(ahead.count == 100_000)
        #expect(ahead.pieceCount <= 100_000 / (ReadAhead.joinBelow - 1) + 1, "\(ahead.pieceCount) pieces")
        // A large piece after small ones is a piece of its own, and a small one after it too.
        let large = Self.bytes(0..<65536)
        ahead.append(large)
        expected += large
        let pieces = ahead.pieceCount
        ahead.append([7])
        expected.append(7)
        #expect(ahead.pieceCount == pieces + 1, "a small piece does not join a large one")
        #expect(ahead.takeAll() == expected)
        #expect(ahead.isEmpty)
    }

    @Test("takes of a length across pieces, peeks, copies and what goes in front")
    func lengthsPeeksCopies() {
        var ahead = ReadAhead()
        ahead.append(Self.bytes(0..<5))
        Self.bytes(5..<12).withUnsafeBytes { ahead.append($0) }
        ahead.append([])
        ahead.append(Self.bytes(12..<20))
        var out: [UInt8] = []
        ahead.take(8, into: &out, peek: true)
        #expect(out == Self.bytes(0..<8) && ahead.count == 20)
        out = []
        ahead.take(8, into: &out)
        #expect(out == Self.bytes(0..<8) && ahead.count == 12)
        // What a cancelled receive got goes in front.
        ahead.prepend(Self.bytes(200..<203))
        var target = [UInt8](repeating: 0, count: 6)
        let copied = target.withUnsafeMutableBytes { ahead.copy(into: $0, peek: false) }
        #expect(copied == 6 && target == Self.bytes(200..<203) + Self.bytes(8..<11))
        let peeked = target.withUnsafeMutableBytes { ahead.copy(into: $0, peek: true) }
        #expect(peeked == 6 && target == Self.bytes(11..<17) && ahead.count == 9)
        out = []
        ahead.take(100, into: &out)
        #expect(out == Self.bytes(11..<20) && ahead.isEmpty)
        ahead.append(Self.bytes(0..<3))
        ahead.removeAll()
        #expect(ahead.isEmpty && ahead.takeAll() == [])
    }

    /// A stream many times the socket's receive buffer sent at once and received by receives
    /// of whatever is available (the completion backend's multishot receiver reads ahead up to
    /// 64 KiB per CQE while no receive waits): every byte comes, in order.
    @Test("a stream received by receives of whatever is available: whole and in order, read ahead or not",
          arguments: Backend.allCases)
    func inOrder(_ backend: Backend) throws {
        _ = try backend.instance()
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        try p.server.setopt(.otp(.rcvbuf), .int(4096))
        let data = pattern(600 * 1024, seed: 9)
        let writer = onThread { try p.client.send(data, timeout: .seconds(10)) }
        var got: [UInt8] = []
        var receives = 0
        while got.count < data.count {
            got += try p.server.recv(timeout: .seconds(10))
            receives += 1
        }
        try writer()
        #expect(got == data, "\(receives) receives")
    }
}
