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
/// A receive asked for a bundle (`IORING_RECVSEND_BUNDLE`, Linux 6.10+) may fill several buffers
/// and post one CQE for them: the CQE names the first buffer, its result counts every byte, and
/// the buffers are the ring's next ones in the order they were added. The ring keeps that order
/// (which buffer went in at which place), so that ``copyOut(flags:result:into:)`` can walk a
/// CQE's data from buffer to buffer; only the last buffer of a bundle may stay with the kernel
/// (`IORING_CQE_F_BUF_MORE`). Before Linux 6.15 the kernel fills one incremental buffer at most
/// per CQE, bundle or not.
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
    /// The ring's order: the buffer at each place of the ring (a place is the ring's index,
    /// masked), and the place each buffer was last added at, as the kernel's 16-bit index counts
    /// it; ``tail`` is where the next buffer given back goes. A bundle's buffers follow each
    /// other in this order.
    private let order: UnsafeMutablePointer<UInt16>
    private let place: UnsafeMutablePointer<UInt16>
    private var tail: UInt16
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
        // The setup added buffer i at place i.
        order = .allocate(capacity: count)
        place = .allocate(capacity: count)
        for i in 0..<count {
            order[i] = UInt16(truncatingIfNeeded: i)
            place[i] = UInt16(truncatingIfNeeded: i)
        }
        tail = UInt16(truncatingIfNeeded: count)
    }

    /// A receive with no buffer of its own (not a multishot one) may read into the ring: only
    /// when buffers are consumed whole (see the type's note on the kernel's order).
    var acceptsSingleReceives: Bool { !incremental }

    /// What a CQE's data is, when its flags name a buffer (`IORING_CQE_F_BUFFER`): the bytes,
    /// and the buffer to give back after they were read (nil while the kernel keeps it).
    func data(flags: UInt32, result: Int32) -> (bytes: UnsafeRawBufferPointer, giveBack: UInt16?)? {
        guard let id = bufferID(flags) else { return nil }
        let n = max(Int(result), 0)
        let start = base + id * size
        guard incremental else {
            return (UnsafeRawBufferPointer(start: start, count: min(n, size)), UInt16(truncatingIfNeeded: id))
        }
        let offset = Int(consumed[id])
        let length = min(n, size - min(offset, size))
        consumed[id] = UInt32(offset + length)
        let kept = flags & ESOCK_CQE_F_BUF_MORE != 0
        return (UnsafeRawBufferPointer(start: start + offset, count: length), kept ? nil : UInt16(truncatingIfNeeded: id))
    }

    /// The buffer a CQE's flags name (`IORING_CQE_F_BUFFER`, the id above
    /// `IORING_CQE_BUFFER_SHIFT`), nil when they name none of this ring's.
    private func bufferID(_ flags: UInt32) -> Int? {
        guard flags & ESOCK_CQE_F_BUFFER != 0 else { return nil }
        let id = Int(UInt16(truncatingIfNeeded: flags >> ESOCK_CQE_BUFFER_SHIFT))
        return id < count ? id : nil
    }

    /// Whether a CQE's data lies in more than one buffer: a bundle's that went past the end of
    /// its first buffer (read it with ``copyOut(flags:result:into:)``).
    func spansBuffers(flags: UInt32, result: Int32) -> Bool {
        guard result > 0, let id = bufferID(flags) else { return false }
        let offset = incremental ? Int(consumed[id]) : 0
        return Int(result) > size - min(offset, size)
    }

    /// The bytes a CQE's data takes in all (`result` when it names a buffer, else 0).
    static func length(flags: UInt32, result: Int32) -> Int {
        flags & ESOCK_CQE_F_BUFFER != 0 ? max(Int(result), 0) : 0
    }

    /// Copies a CQE's data into `destination`, from its first buffer on through the buffers
    /// that follow it in the ring (a bundle's), and gives back every buffer the kernel is done
    /// with: all but the last, and the last unless the kernel keeps it
    /// (`IORING_CQE_F_BUF_MORE`). Returns the bytes copied: all of them when `destination` has
    /// room for ``length(flags:result:)``; what does not fit is dropped. A walk never goes
    /// round the ring more than once.
    func copyOut(flags: UInt32, result: Int32, into destination: UnsafeMutableRawBufferPointer) -> Int {
        guard var id = bufferID(flags) else { return 0 }
        var left = max(Int(result), 0)
        var copied = 0
        var walked = 0
        while id < count && walked < count {
            walked += 1
            let offset = incremental ? min(Int(consumed[id]), size) : 0
            let length = min(left, size - offset)
            let n = min(length, destination.count - copied)
            if n > 0, let to = destination.baseAddress {
                (to + copied).copyMemory(from: base + id * size + offset, byteCount: n)
            }
            copied += n
            left -= length
            let last = left == 0 || length == 0
            let kept = incremental && last && flags & ESOCK_CQE_F_BUF_MORE != 0
            if incremental { consumed[id] = UInt32(offset + length) }
            // The next buffer in the ring's order, read before this one goes back to its tail.
            let next = Int(order[Int(place[id] &+ 1) & (count - 1)])
            if !kept { giveBack(UInt16(truncatingIfNeeded: id)) }
            if last { break }
            id = next
        }
        return copied
    }

    /// The memory of buffer `id`, whole (tests write into it).
    func memory(of id: Int) -> UnsafeMutableRawBufferPointer {
        precondition(id >= 0 && id < count, "no buffer \(id)")
        return UnsafeMutableRawBufferPointer(start: base + id * size, count: size)
    }

    /// Gives buffer `id` back to the kernel, whole, at the ring's tail.
    func giveBack(_ id: UInt16) {
        consumed[Int(id)] = 0
        order[Int(tail) & (count - 1)] = id
        place[Int(id)] = tail
        tail &+= 1
        esock_buf_ring_recycle(ring, UInt32(count), (base + Int(id) * size).assumingMemoryBound(to: UInt8.self),
                               UInt32(size), id)
    }

    /// Unregisters the ring from `owner` and frees the buffers: after the kernel's last CQE.
    func release(from owner: Ring) {
        esock_buf_ring_free(owner.raw, ring, UInt32(count), Int32(Self.group))
        base.deallocate()
        consumed.deallocate()
        order.deallocate()
        place.deallocate()
    }

    /// For `info()`: "8 x 65536, incremental" or "512 x 16384".
    var summary: String { "\(count) x \(size)" + (incremental ? ", incremental" : "") }
}
