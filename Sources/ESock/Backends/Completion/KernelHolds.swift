/// What the kernel holds of a completion backend: every operation whose SQE is in the ring, and
/// every operation a cancel SQE in the ring names, each in a slot that the SQE's user data
/// names. The slot's strong reference is the kernel's: an operation (and the buffers it owns)
/// lives until the last CQE of each SQE that names it. Kept by the ring owner, on its thread
/// only.
///
/// A table rather than a retained pointer in the user data, so that the owner can find every
/// operation the kernel holds when the ring fails (``CompletionBackend``, a broken ring): each
/// gets a last completion from the owner, and the table keeps them for ever, since the kernel
/// may still write into their buffers. One array access per SQE and per last CQE, no hashing;
/// 12 bytes per slot (a reference and a free-list entry).
struct KernelHolds {
    /// What an SQE is, in the low bits of its user data.
    enum Kind: UInt64 {
        /// An operation's own SQE.
        case operation = 0
        /// A cancel of an operation.
        case cancel = 1
    }

    /// The backend's wake-up read (its own user data; no slot).
    static let wakeUserData: UInt64 = 2

    private var slots: [Operation?] = []
    private var free: [Int32] = []
    /// How many slots hold an operation.
    private(set) var count = 0

    /// Holds `op` for an SQE of `kind`; returns the SQE's user data.
    mutating func hold(_ op: Operation, as kind: Kind) -> (slot: Int32, userData: UInt64) {
        let slot: Int32
        if let reused = free.popLast() {
            slot = reused
            slots[Int(slot)] = op
        } else {
            slot = Int32(slots.count)
            slots.append(op)
        }
        count += 1
        return (slot, Self.userData(slot, kind))
    }

    /// The user data of the SQE of `kind` in `slot`: never 0 nor the wake-up's.
    static func userData(_ slot: Int32, _ kind: Kind) -> UInt64 {
        (UInt64(slot) + 1) << 2 | kind.rawValue
    }

    /// The slot and kind a CQE's user data names; nil for anything else (the wake-up).
    static func decode(_ userData: UInt64) -> (slot: Int, kind: Kind)? {
        guard userData >= 4, let kind = Kind(rawValue: userData & 3) else { return nil }
        return (Int(userData >> 2) - 1, kind)
    }

    /// The operation in `slot`, still held (a multishot operation's CQE with more to come).
    func peek(_ slot: Int) -> Operation? {
        slot < slots.count ? slots[slot] : nil
    }

    /// Takes the operation out of `slot`: the SQE's last CQE came.
    mutating func release(_ slot: Int) -> Operation? {
        guard slot < slots.count, let op = slots[slot] else { return nil }
        slots[slot] = nil
        free.append(Int32(slot))
        count -= 1
        return op
    }

    /// Every operation held by an SQE of its own (each once), for a ring that failed.
    var operations: [Operation] {
        var seen = Set<ObjectIdentifier>()
        return slots.compactMap { $0 }.filter { $0.kernelSlot >= 0 && seen.insert(ObjectIdentifier($0)).inserted }
    }
}
