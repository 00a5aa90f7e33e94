import CESockShims

/// A mailbox's messages in arrival order, each with a sequence number, with removal of the
/// oldest match (selective receive). A growable ring buffer, empty (no storage) until the first
/// message: most mailboxes hold a few messages at a time.
///
/// The messages and their numbers are in two arrays, not one of pairs: taking a message out of
/// an optional pair copied it through the runtime's generic value witnesses (~200 instructions
/// per message under callgrind, `Benchmarks/instructions.sh select nowait`).
struct MessageQueue {
    /// How many messages ahead of the one taken ``removeFirst(matching:)`` prefetches the
    /// socket of.
    private static let prefetchDistance = 4
    private var messages: [SocketMessage?] = []
    private var sequences: [UInt64] = []
    // The oldest message's slot and the number of messages, 32 bits each, so that the second
    // array costs no word in every mailbox (more than 2^31 messages in one mailbox would take
    // over 100 GiB).
    private var headSlot: Int32 = 0
    private var stored: Int32 = 0
    /// The sequence number of the newest message ever appended (0: none yet).
    private(set) var newest: UInt64 = 0

    /// The number of messages.
    var count: Int { Int(stored) }
    private var head: Int {
        get { Int(headSlot) }
        set { headSlot = Int32(truncatingIfNeeded: newValue) }
    }
    private var mask: Int { messages.count - 1 }

    mutating func append(_ m: consuming SocketMessage) {
        if count == messages.count { grow() }
        newest += 1
        let slot = (head + count) & mask
        messages[slot] = consume m
        sequences[slot] = newest
        stored += 1
    }

    /// Removes and returns the oldest message `selection` matches.
    mutating func removeFirst(matching selection: Mailbox.Selection) -> SocketMessage? {
        guard count > 0 else { return nil }
        // The oldest message, the one almost always taken, is moved out of its slot (looking at
        // a copy of each entry first cost a retain and a release of its references). Not through
        // `remove(at: 0)`: its store of nil into the emptied slot destroys it again (~120
        // instructions more per round trip under callgrind).
        if case .any = selection {
            let oldest = messages[head].take()
            head = (head + 1) & mask
            stored -= 1
            // The receiver of a batch of messages touches each one's socket at once (its next
            // call on it): the socket of the one it takes a few receives later is asked of the
            // CPU now. At 10,000 connections it was a cold cache line per message (the backend's
            // touch of it, when the batch was delivered, long evicted).
            if count >= Self.prefetchDistance {
                let slot = (head + Self.prefetchDistance - 1) & mask
                // Read in place through the buffer (the array's getter would copy the message,
                // a retain of the cold socket itself).
                if let socket = messages.withUnsafeBufferPointer({ $0[slot]?.socketAddress }) {
                    esock_prefetch_lines(socket, Socket.cacheLines)
                }
            }
            return oldest
        }
        for i in 0..<count where matches(selection, at: (head + i) & mask) {
            return remove(at: i)
        }
        return nil
    }

    /// Whether the message in `slot` is one `selection` takes, looked at in place.
    private func matches(_ selection: Mailbox.Selection, at slot: Int) -> Bool {
        guard let message = messages[slot] else { return false }
        return selection.matches(message)
    }

    /// Removes every message `matches` selects (no user code: the mailbox's own checks), oldest
    /// first.
    mutating func removeAll(where matches: (SocketMessage) -> Bool) -> [SocketMessage] {
        var out: [SocketMessage] = []
        var i = 0
        while i < count {
            if let message = messages[(head + i) & mask], matches(message) {
                if let removed = remove(at: i) { out.append(removed) }
            } else {
                i += 1
            }
        }
        return out
    }

    /// The messages newer than `sequence`, oldest first, with their numbers.
    func entries(after sequence: UInt64) -> [(UInt64, SocketMessage)] {
        var out: [(UInt64, SocketMessage)] = []
        for i in 0..<count {
            let slot = (head + i) & mask
            if sequences[slot] > sequence, let message = messages[slot] { out.append((sequences[slot], message)) }
        }
        return out
    }

    /// Removes the message numbered `sequence`, if it is still there.
    mutating func remove(sequence: UInt64) -> SocketMessage? {
        for i in 0..<count where sequences[(head + i) & mask] == sequence {
            return remove(at: i)
        }
        return nil
    }

    /// Removes the `i`-th message (0: the oldest), closing the gap; returns it.
    private mutating func remove(at i: Int) -> SocketMessage? {
        let slot = (head + i) & mask
        let removed = messages[slot].take()
        if i == 0 {
            head = (head + 1) & mask
        } else {
            for j in i..<(count - 1) {
                let to = (head + j) & mask, from = (head + j + 1) & mask
                messages[to] = messages[from].take()
                sequences[to] = sequences[from]
            }
        }
        stored -= 1
        return removed
    }

    private mutating func grow() {
        let capacity = max(messages.count * 2, 2)
        var biggerMessages = [SocketMessage?](repeating: nil, count: capacity)
        var biggerSequences = [UInt64](repeating: 0, count: capacity)
        for i in 0..<count {
            let slot = (head + i) & mask
            biggerMessages[i] = messages[slot].take()
            biggerSequences[i] = sequences[slot]
        }
        messages = biggerMessages
        sequences = biggerSequences
        head = 0
    }
}
