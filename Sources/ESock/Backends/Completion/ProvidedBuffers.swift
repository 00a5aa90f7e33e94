#if canImport(Glibc)
import Glibc
#endif
import CESockShims
import CLiburing

/// The completion backend's provided-buffer ring (`IORING_REGISTER_PBUF_RING`): memory the
/// kernel picks from when data arrives for a receive of "whatever is available", so that a
/// socket waiting to read owns no buffer.
///
/// Two shapes, chosen at setup:
/// - **Incremental** (`IOU_PBUF_RING_INC`, Linux 6.12+): a few large buffers, each receive taking
///   only the bytes it got from the current one. The kernel keeps a buffer while
///   `IORING_CQE_F_BUF_MORE` is set on its CQEs; the data of each CQE starts where the previous
///   CQE of that buffer ended, so the ring keeps one running offset per buffer. Small messages
///   from many connections pack into the same pages: the memory touched is what arrived, at most
///   the ring, instead of a page per buffer per message.
/// - **Whole buffers** (before 6.12, or when asked): each CQE's data is at the start of its own
///   buffer, given back after it was read.
///
/// The running offsets hold only if CQEs come in the order the kernel consumed the buffer. A
/// multishot receive's CQEs do: the kernel posts each as it receives, under the ring's lock.
/// Its last CQE carries data only when the completion queue was full (then every later one
/// waits behind it in the kernel's overflow list, in order). A single receive's CQE is posted
/// with the batch's completions, after CQEs of receives that came later, so only multishot
/// receives read into an incremental ring (``acceptsSingleReceives``).
///
/// Used by the ring owner's thread only. No deinit: ``release(from:)`` unregisters and frees.
final class ProvidedBuffers {
    let count: Int
    let size: Int
    /// Buffers are consumed a part at a time (`IOU_PBUF_RING_INC`).
    let incremental: Bool
    private let ring: UnsafeMutablePointer<io_uring_buf_ring>
    private let base: UnsafeMutableRawPointer
    /// Incremental ring: bytes of each buffer the kernel consumed so far (where its next CQE's
    /// data starts).
    private let consumed: UnsafeMutablePointer<UInt32>
    static let group: UInt16 = 1
    /// The most memory a ring may take (1 GiB).
    static let limit = 1 << 30

    /// Registers `count` buffers of `size` bytes as ``group``: `count` a power of two below
    /// 65,536, `size` from 1 byte to 4 GiB, at most ``limit`` in all (`EINVAL` otherwise, before
    /// anything is allocated); throws the kernel's errno (`EINVAL` for an incremental ring
    /// before Linux 6.12).
    init(on ring: Ring, count: Int, size: Int, incremental: Bool) throws(SocketError.Errno) {
        let (bytes, overflow) = count.multipliedReportingOverflow(by: size)
        guard count > 0, count < 65_536, count & (count - 1) == 0, size > 0, size <= Int(UInt32.max),
              !overflow, bytes <= Self.limit else {
            throw .invalidArgument
        }
        let base = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 4096)
        guard let br = esock_buf_ring_setup(ring.raw, UInt32(count), Int32(Self.group),
                                            base.assumingMemoryBound(to: UInt8.self), UInt32(size),
                                            incremental ? 1 : 0) else {
            let e = errno
            base.deallocate()
            throw SocketError.Errno(rawValue: e)
        }
        self.count = count
        self.size = size
        self.incremental = incremental
        self.ring = br
        self.base = base
        consumed = .allocate(capacity: count)
        consumed.initialize(repeating: 0, count: count)
    }

    /// A receive with no buffer of its own (not a multishot one) may read into the ring: only
    /// when buffers are consumed whole (see the type's note on the kernel's order).
    var acceptsSingleReceives: Bool { !incremental }

    /// What a CQE's data is, when its flags name a buffer (`IORING_CQE_F_BUFFER`): the bytes,
    /// and the buffer to give back after they were read (nil while the kernel keeps it).
    func data(flags: UInt32, result: Int32) -> (bytes: UnsafeRawBufferPointer, giveBack: UInt16?)? {
        guard flags & ESOCK_CQE_F_BUFFER != 0 else { return nil }
        let id = UInt16(truncatingIfNeeded: flags >> ESOCK_CQE_BUFFER_SHIFT)
        guard Int(id) < count else { return nil }
        let n = max(Int(result), 0)
        let start = base + Int(id) * size
        guard incremental else {
            return (UnsafeRawBufferPointer(start: start, count: min(n, size)), id)
        }
        let offset = Int(consumed[Int(id)])
        let length = min(n, size - min(offset, size))
        consumed[Int(id)] = UInt32(offset + length)
        let kept = flags & ESOCK_CQE_F_BUF_MORE != 0
        return (UnsafeRawBufferPointer(start: start + offset, count: length), kept ? nil : id)
    }

    /// Gives buffer `id` back to the kernel, whole.
    func giveBack(_ id: UInt16) {
        consumed[Int(id)] = 0
        esock_buf_ring_recycle(ring, UInt32(count), (base + Int(id) * size).assumingMemoryBound(to: UInt8.self),
                               UInt32(size), id)
    }

    /// Unregisters the ring from `owner` and frees the buffers: after the kernel's last CQE.
    func release(from owner: Ring) {
        esock_buf_ring_free(owner.raw, ring, UInt32(count), Int32(Self.group))
        base.deallocate()
        consumed.deallocate()
    }

    /// For `info()`: "8 x 65536, incremental" or "512 x 16384".
    var summary: String { "\(count) x \(size)" + (incremental ? ", incremental" : "") }
}
