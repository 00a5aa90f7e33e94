/// Bytes of a stream received before a receive asked for them: what the completion backend's
/// multishot receiver got while no receive waited (or more than the waiting one took), and
/// what a cancelled receive got after all. The next receives take them first, in order.
///
/// Kept as the pieces they came in, each an array of its own, so that adding a piece copies
/// nothing more and a receive of whatever is available takes a lone piece without a copy.
/// (One array of everything read ahead, grown by appends and emptied from its front, copied
/// the bytes again at each append and growth: with the pieces, and joined CQEs copied once, a
/// stream received over four connections took 17.75 instead of 23.51 µs of the server's CPU
/// per 64 KiB; docs/architecture.md, "Eighteenth session".) One word in the socket's state;
/// nothing allocated while empty.
struct ReadAhead {
    /// The pieces, oldest first; none is empty.
    private var pieces: [[UInt8]] = []

    /// Nothing is read ahead.
    var isEmpty: Bool { pieces.isEmpty }

    /// The bytes read ahead.
    var count: Int {
        var n = 0
        for p in pieces { n += p.count }
        return n
    }

    /// Adds a copy of `bytes` behind what is read ahead.
    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        if joinsLast(bytes.count) { pieces[pieces.count - 1] += bytes } else { pieces.append(Array(bytes)) }
    }

    /// Adds `bytes` behind what is read ahead (the array itself, not a copy, unless it is small
    /// enough to join the last piece).
    mutating func append(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        if joinsLast(bytes.count) { pieces[pieces.count - 1] += bytes } else { pieces.append(bytes) }
    }

    /// Pieces below this size are joined when one follows another: a peer's stream of tiny
    /// segments would otherwise make a piece per segment (an array of its own each, dozens of
    /// bytes of heap per byte, and `count`, which the receiver checks at each CQE, a walk over
    /// up to a quarter of a million of them before the read-ahead limit stops the receiver).
    /// Joined, every piece but the last two holds at least this much.
    static let joinBelow = 4096

    /// Whether `n` more bytes go into the last piece instead of a new one: both small.
    private func joinsLast(_ n: Int) -> Bool {
        n < Self.joinBelow && (pieces.last.map { $0.count < Self.joinBelow } ?? false)
    }

    /// The pieces kept now (tests).
    var pieceCount: Int { pieces.count }

    /// Puts `bytes` in front of what is read ahead (what a cancelled receive got goes before
    /// what came after it).
    mutating func prepend(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        pieces.insert(bytes, at: 0)
    }

    /// Takes all that is read ahead (what a receive of whatever is available gets): a lone
    /// piece is the array it came in, not a copy; several are joined, in order.
    mutating func takeAll() -> [UInt8] {
        if pieces.count == 1 { return pieces.removeFirst() }
        var out: [UInt8] = []
        take(count, into: &out)
        return out
    }

    /// Appends the first `n` bytes read ahead (at most all of them) to `out`; removes them
    /// unless `peek`.
    mutating func take(_ n: Int, into out: inout [UInt8], peek: Bool = false) {
        var left = max(n, 0)
        guard left > 0, !pieces.isEmpty else { return }
        out.reserveCapacity(out.count + min(left, count))
        for p in pieces where left > 0 {
            let m = min(p.count, left)
            out += p[0..<m]
            left -= m
        }
        if !peek { drop(n) }
    }

    /// Copies the first bytes read ahead into `target`, as many as fit; removes them unless
    /// `peek`. Returns how many.
    mutating func copy(into target: UnsafeMutableRawBufferPointer, peek: Bool) -> Int {
        guard let to = target.baseAddress else { return 0 }
        var copied = 0
        for p in pieces where copied < target.count {
            let m = min(p.count, target.count - copied)
            p.withUnsafeBytes { (to + copied).copyMemory(from: $0.baseAddress!, byteCount: m) }
            copied += m
        }
        if !peek { drop(copied) }
        return copied
    }

    /// Forgets everything read ahead.
    mutating func removeAll() { pieces = [] }

    /// Removes the first `n` bytes (at most all of them).
    private mutating func drop(_ n: Int) {
        var left = n
        while left > 0 && !pieces.isEmpty {
            // The first piece is not bound to a local: it is changed in place when cut.
            let size = pieces[0].count
            if left >= size {
                pieces.removeFirst()
                left -= size
            } else {
                pieces[0].removeFirst(left)
                left = 0
            }
        }
    }
}
