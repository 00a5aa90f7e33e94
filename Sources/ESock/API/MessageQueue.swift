/// A mailbox's messages in arrival order, each with a sequence number, with removal of the
/// oldest match (selective receive). A growable ring buffer, empty (no storage) until the first
/// message: an async call's mailbox, one per waiting call, mostly holds one message at a time.
struct MessageQueue {
    private var storage: [(sequence: UInt64, message: SocketMessage)?] = []
    private var head = 0
    private(set) var count = 0
    /// The sequence number of the newest message ever appended (0: none yet).
    private(set) var newest: UInt64 = 0

    mutating func append(_ m: consuming SocketMessage) {
        if count == storage.count { grow() }
        newest += 1
        storage[(head + count) & (storage.count - 1)] = (newest, m)
        count += 1
    }

    /// Removes and returns the oldest message `selection` matches.
    mutating func removeFirst(matching selection: Mailbox.Selection) -> SocketMessage? {
        guard count > 0 else { return nil }
        // The oldest message, the one almost always taken, is moved out of its slot (looking at
        // a copy of each entry first cost a retain and a release of its references). Not through
        // `remove(at: 0)`: its store of nil into the emptied slot destroys it again (~120
        // instructions more per round trip under callgrind).
        if case .any = selection {
            let oldest = storage[head].take()
            head = (head + 1) & (storage.count - 1)
            count -= 1
            return oldest?.message
        }
        let mask = storage.count - 1
        for i in 0..<count {
            guard let entry = storage[(head + i) & mask], selection.matches(entry.message) else { continue }
            remove(at: i)
            return entry.message
        }
        return nil
    }

    /// Removes every message `matches` selects (no user code: the mailbox's own checks), oldest
    /// first.
    mutating func removeAll(where matches: (SocketMessage) -> Bool) -> [SocketMessage] {
        var out: [SocketMessage] = []
        guard count > 0 else { return out }
        var i = 0
        let mask = storage.count - 1
        while i < count {
            if let entry = storage[(head + i) & mask], matches(entry.message) {
                out.append(entry.message)
                remove(at: i)
            } else {
                i += 1
            }
        }
        return out
    }

    /// The messages newer than `sequence`, oldest first, with their numbers.
    func entries(after sequence: UInt64) -> [(UInt64, SocketMessage)] {
        guard count > 0 else { return [] }
        let mask = storage.count - 1
        var out: [(UInt64, SocketMessage)] = []
        for i in 0..<count {
            if let entry = storage[(head + i) & mask], entry.sequence > sequence { out.append((entry.sequence, entry.message)) }
        }
        return out
    }

    /// Removes the message numbered `sequence`, if it is still there.
    mutating func remove(sequence: UInt64) -> SocketMessage? {
        guard count > 0 else { return nil }
        let mask = storage.count - 1
        for i in 0..<count {
            guard let entry = storage[(head + i) & mask], entry.sequence == sequence else { continue }
            remove(at: i)
            return entry.message
        }
        return nil
    }

    /// Removes the `i`-th message (0: the oldest), closing the gap.
    private mutating func remove(at i: Int) {
        let mask = storage.count - 1
        if i == 0 {
            storage[head] = nil
            head = (head + 1) & mask
        } else {
            for j in i..<(count - 1) { storage[(head + j) & mask] = storage[(head + j + 1) & mask] }
            storage[(head + count - 1) & mask] = nil
        }
        count -= 1
    }

    private mutating func grow() {
        var bigger = [(sequence: UInt64, message: SocketMessage)?](repeating: nil, count: max(storage.count * 2, 2))
        for i in 0..<count { bigger[i] = storage[(head + i) & (storage.count - 1)] }
        storage = bigger
        head = 0
    }
}
