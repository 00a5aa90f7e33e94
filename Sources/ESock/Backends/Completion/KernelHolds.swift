import CESockShims

/// What the kernel holds of a completion backend: every operation whose SQE is in the ring, and
/// every operation a cancel SQE in the ring names, each in a slot that the SQE's user data
/// names. The slot's strong reference is the kernel's: an operation (and the buffers it owns)
/// lives until the last CQE of each SQE that names it. Kept by the ring owner, on its thread
/// only.
///
/// A table rather than a retained pointer in the user data, so that the owner can find every
/// operation the kernel holds when the ring fails (``CompletionBackend``, a broken ring): each
/// gets a last completion from the owner, and the table keeps them for ever, since the kernel
/// may still write into their buffers. Two array accesses per SQE and per last CQE, one per CQE
/// with more to come (and one more per CQE for its prefetch, ``prefetch(_:operation:)``), no
/// hashing; 28 bytes per slot (a reference, its bare addresses and a free-list entry).
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
    /// Beside each slot, its operation and the operation's socket as bare addresses, for a
    /// multishot operation's CQEs with more to come (``peer(_:)``): read with no reference count
    /// and without touching the operation's memory (at 10,000 connections a cold cache line per
    /// message, with a retain and a release on it). Valid while the slot holds the operation:
    /// `slots` keeps it alive, and it keeps its socket alive.
    private var peers: [Peer] = []
    private var free: [Int32] = []
    /// How many slots hold an operation.
    private(set) var count = 0
    /// Cancels in the ring by the slot of the SQE they target. While one may still match that
    /// user data, the slot is not given to another operation, even once its own operation's
    /// last CQE came (it is retired until the cancel's CQE): a cancel must never reach an SQE
    /// it was not meant for. Touched on the cancel path only.
    private var cancelsByTarget: [Int32: Int] = [:]

    /// A slot's operation and socket, unretained (see `peers`).
    struct Peer {
        fileprivate var operation: UnsafeMutableRawPointer?
        fileprivate var socket: UnsafeMutableRawPointer?
    }

    /// Holds `op` for an SQE of `kind`; returns the SQE's user data.
    mutating func hold(_ op: Operation, as kind: Kind) -> (slot: Int32, userData: UInt64) {
        let slot: Int32
        let peer = Peer(operation: Unmanaged.passUnretained(op).toOpaque(),
                        socket: Unmanaged.passUnretained(op.socket).toOpaque())
        if let reused = free.popLast() {
            slot = reused
            slots[Int(slot)] = op
            peers[Int(slot)] = peer
        } else {
            slot = Int32(slots.count)
            slots.append(op)
            peers.append(peer)
        }
        count += 1
        return (slot, Self.userData(slot, kind))
    }

    /// The user data of the SQE of `kind` in `slot`: never 0 nor the wake-up's.
    static func userData(_ slot: Int32, _ kind: Kind) -> UInt64 {
        (UInt64(slot) + 1) << 2 | kind.rawValue
    }

    /// The slot and kind a CQE's user data names; nil for anything else (the wake-up). (A
    /// cancel's user data carries its target's slot in its high half.)
    static func decode(_ userData: UInt64) -> (slot: Int, kind: Kind)? {
        guard userData >= 4, let kind = Kind(rawValue: userData & 3) else { return nil }
        return (Int((userData & 0xffff_ffff) >> 2) - 1, kind)
    }

    /// The operation `slot` holds strongly, if any (the tests check the hold with it; a CQE reads
    /// its operation through ``peer(_:)`` or takes it with ``release(_:)``).
    func peek(_ slot: Int) -> Operation? {
        slot < slots.count ? slots[slot] : nil
    }

    /// The operation in `slot` and its socket, unretained: for use while the slot holds the
    /// operation, that is during the handling of a CQE with more to come (nothing releases a
    /// slot but its operation's last CQE, handled later on the same thread).
    func peer(_ slot: Int) -> (operation: Unmanaged<Operation>, socket: Unmanaged<Socket>)? {
        guard slot < peers.count, let op = peers[slot].operation, let socket = peers[slot].socket else { return nil }
        return (Unmanaged.fromOpaque(op), Unmanaged.fromOpaque(socket))
    }

    /// Asks the CPU to fetch what a CQE for `slot` will touch (its socket, and its operation
    /// when the CQE is the last), while the CQEs before it are handled: at 10,000 connections
    /// each is a cold cache line per message. Reads `peers` only; does nothing for an empty slot.
    @inline(__always)
    func prefetch(_ slot: Int, operation: Bool) {
        guard slot >= 0, slot < peers.count, let socket = peers[slot].socket else { return }
        esock_prefetch_lines(socket, Socket.cacheLines)
        if operation, let op = peers[slot].operation { esock_prefetch_lines(op, Self.operationLines) }
    }

    /// The cache lines of an operation's object that ``prefetch(_:operation:)`` asks for (its
    /// fields a CQE reads and writes are in the first two).
    private static let operationLines: Int32 = 2

    /// Holds `op` for a cancel of its SQE in `target`; returns the cancel SQE's user data.
    mutating func holdCancel(of op: Operation, target: Int32) -> UInt64 {
        cancelsByTarget[target, default: 0] += 1
        let (_, userData) = hold(op, as: .cancel)
        // The target's slot rides along in the high half, for the cancel's CQE.
        return userData | UInt64(UInt32(bitPattern: target)) << 32
    }

    /// Takes the operation out of `slot`: the SQE's last CQE came. The slot is free for another
    /// SQE unless a cancel that targets it is still in the ring.
    mutating func release(_ slot: Int) -> Operation? {
        // Moved out of the slot, not copied: a copy and the clearing were a retain and a release
        // of the operation per last CQE.
        guard slot < slots.count, let op = slots[slot].take() else { return nil }
        peers[slot] = Peer()
        count -= 1
        // (No cancel in the ring, the common case: no hashing.)
        if cancelsByTarget.isEmpty || cancelsByTarget[Int32(slot)] == nil { free.append(Int32(slot)) }
        return op
    }

    /// A cancel's CQE came (`userData` its SQE's): its own slot is freed, and the slot it
    /// targeted too when its operation is gone and no other cancel targets it.
    mutating func releaseCancel(_ userData: UInt64) {
        guard let (slot, kind) = Self.decode(userData), kind == .cancel else { return }
        _ = release(slot)
        let target = Int32(bitPattern: UInt32(truncatingIfNeeded: userData >> 32))
        guard let n = cancelsByTarget[target] else { return }
        if n > 1 {
            cancelsByTarget[target] = n - 1
            return
        }
        cancelsByTarget[target] = nil
        if Int(target) < slots.count && slots[Int(target)] == nil { free.append(target) }
    }

    /// Every operation held by an SQE of its own (each once), for a ring that failed.
    var operations: [Operation] {
        var seen = Set<ObjectIdentifier>()
        return slots.compactMap { $0 }.filter { $0.kernelSlot >= 0 && seen.insert(ObjectIdentifier($0)).inserted }
    }
}
