@testable import ESock
import Testing

/// The read-ahead (``ReadAhead``): bytes received before a receive asked for them, kept as the
/// pieces they came in. Every take gives the bytes in order; a receive of whatever is available
/// gets whole pieces up to its limit (the first cut when larger alone); the rest stays.
@Suite("Read-ahead: pieces taken in order", .leakChecked)
struct ReadAheadTests {
    private static func bytes(_ range: Range<Int>) -> [UInt8] { range.map { UInt8(truncatingIfNeeded: $0) } }

    @Test("whole pieces up to the limit, the first cut when larger alone, the rest in order")
    func available() {
        var ahead = ReadAhead()
        #expect(ahead.isEmpty && ahead.count == 0)
        #expect(ahead.takeAvailable(upTo: 100) == [])
        ahead.append(Self.bytes(0..<10))
        ahead.append(Self.bytes(10..<30))
        ahead.append(Self.bytes(30..<100))
        #expect(ahead.count == 100)
        // 10 + 20 fit in 40, the third does not: the first two, joined.
        #expect(ahead.takeAvailable(upTo: 40) == Self.bytes(0..<30))
        // A piece that fits alone while the next does not: that piece.
        ahead.append(Self.bytes(100..<150))
        #expect(ahead.takeAvailable(upTo: 100) == Self.bytes(30..<100))
        // A piece larger than the limit alone: cut at the limit, the rest stays first.
        #expect(ahead.takeAvailable(upTo: 20) == Self.bytes(100..<120))
        #expect(ahead.count == 30)
        #expect(ahead.takeAvailable(upTo: 1000) == Self.bytes(120..<150))
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
        #expect(ahead.isEmpty && ahead.takeAvailable(upTo: 10) == [])
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
