import Synchronization

/// What the completion backend's ring offers, as the socket engine needs to know it when it
/// decides how an operation waits: shared by the backend (which learns it) and its rules.
final class RingFeatures: Sendable {
    private let multishot = Atomic<Bool>(false)
    private let multishotAccepts = Atomic<Bool>(true)
    private let ringBytes = Atomic<Int>(0)

    /// A multishot receive on the provided-buffer ring is possible: the ring has provided
    /// buffers, and the kernel has not refused a multishot receive (Linux 6.0+).
    var multishotReceive: Bool { multishot.load(ordering: .relaxed) }

    /// Set by the backend when it set its provided-buffer ring up (true) or when the kernel
    /// refused a multishot receive (false).
    func setMultishotReceive(_ on: Bool) { multishot.store(on, ordering: .relaxed) }

    /// The bytes of the provided-buffer ring the multishot receives read into (0: none).
    var receiveRingBytes: Int { ringBytes.load(ordering: .relaxed) }

    /// Set by the backend when it set its provided-buffer ring up.
    func setReceiveRingBytes(_ bytes: Int) { ringBytes.store(bytes, ordering: .relaxed) }

    /// A multishot accept is possible (Linux 5.19+): until the kernel refuses one.
    var multishotAccept: Bool { multishotAccepts.load(ordering: .relaxed) }

    /// Set when the kernel refused a multishot accept.
    func setMultishotAccept(_ on: Bool) { multishotAccepts.store(on, ordering: .relaxed) }
}
