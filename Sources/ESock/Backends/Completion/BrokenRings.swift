/// What a completion backend whose ring failed leaves behind, kept for the process's life: the
/// ring (its mapped queues and descriptor), its provided buffers, and the operations its SQEs
/// held. After an unexpected `io_uring_enter` failure the kernel may still complete those
/// requests and write into their memory, so none of it may be freed; kept here, it also stays
/// reachable (LeakSanitizer does not report it). Only a ring that failed comes here.
enum BrokenRings {
    // @unchecked Sendable: written under the lock, never read.
    private final class Kept: @unchecked Sendable {
        var things: [AnyObject] = []
        var holds: [KernelHolds] = []
    }
    private static let kept = Locked(Kept())

    /// Keeps the operations a failed ring's SQEs held.
    static func keep(_ holds: KernelHolds) {
        kept.withLock { $0.holds.append(holds) }
    }

    /// Keeps a failed ring and its provided buffers.
    static func keep(_ ring: Ring, _ buffers: ProvidedBuffers?) {
        kept.withLock { k in
            k.things.append(ring)
            if let buffers { k.things.append(buffers) }
        }
    }
}
