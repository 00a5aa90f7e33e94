/// The bytes a connection received that a parser has not consumed yet: what the example parsers
/// read from. Indices are those of ``bytes``; the unconsumed ones are
/// `start..<bytes.count`. Consumed bytes are dropped when that costs nothing (all consumed) or
/// when they are many and at least half of the buffer, so a long pipelined stream is read in
/// linear time and the buffer stays as small as what is not consumed.
struct ReceiveBuffer: Sendable {
    /// The bytes, the consumed ones first.
    private(set) var bytes: [UInt8] = []
    /// The first byte not consumed.
    private(set) var start = 0

    /// The bytes not consumed.
    var count: Int { bytes.count - start }

    /// Adds received bytes at the end.
    mutating func append(_ more: [UInt8]) {
        bytes += more
    }

    /// Marks the bytes before `end` consumed (the indices of the others may change).
    mutating func consume(to end: Int) {
        start = end
        if start == bytes.count {
            bytes.removeAll(keepingCapacity: true)
            start = 0
        } else if start >= 64 << 10 && start * 2 >= bytes.count {
            bytes.removeFirst(start)
            start = 0
        }
    }
}
