#if canImport(Glibc)
import Glibc
#endif
@testable import ESock
import Synchronization
import Testing

/// The ring primitive (``Ring``) alone, without a backend: what it does when the kernel refuses
/// a submission otherwise than by being busy.
@Suite("Ring: set-up and submissions the kernel refuses")
struct RingTests {
    @Test("a full SQ whose submit fails (not EBUSY, EAGAIN or EINTR) throws the errno instead of spinning", .requires(.ioUring))
    func failedSubmitThrows() throws {
        let ring = try Ring(entries: 2, completionEntries: 4, flags: 0)
        var ends: [Int32] = [-1, -1]
        try #require(pipe(&ends) == 0)
        let other = ends[1]
        defer { for fd in ends { close(fd) } }
        // Two SQEs fill the SQ; nothing is submitted yet.
        for _ in 0..<2 { #expect(try ring.prepare(.poll(fd: other, mask: UInt32(POLLOUT)), userData: 0)) }
        // The ring's descriptor now names a pipe: io_uring_enter refuses it (EOPNOTSUPP).
        let ringFD = ring.raw.pointee.ring_fd
        try #require(dup2(other, ringFD) == ringFD)
        let outcome = Mutex<SocketError.Errno?>(nil)
        let done = Atomic<Bool>(false)
        let handed = HandedRing(ring: ring)
        let third = Thread {
            do throws(SocketError.Errno) {
                _ = try handed.ring.prepare(.poll(fd: other, mask: UInt32(POLLOUT)), userData: 0)
            } catch {
                outcome.withLock { $0 = error }
            }
            done.store(true, ordering: .releasing)
        }
        third.start()
        waitUntil("the third prepare returns") { done.load(ordering: .acquiring) }
        guard done.load(ordering: .acquiring) else {
            // Still spinning on the ring: it is left (closing it under the thread could crash
            // the whole test run).
            return
        }
        #expect(outcome.withLock { $0 } == SocketError.Errno(rawValue: EOPNOTSUPP))
        ring.close()
    }

    @Test("a ring whose setup the kernel refused sets up again with other flags, and works", .requires(.ioUring))
    func setUpAgainAfterRefusal() throws {
        let ring = Ring()
        // A setup flag no kernel knows: EINVAL, as a kernel without DEFER_TASKRUN answers it.
        #expect(throws: SocketError.Errno(rawValue: EINVAL)) {
            try ring.setUp(entries: 2, completionEntries: 4, flags: 1 << 31)
        }
        try ring.setUp(entries: 2, completionEntries: 4, flags: 0)
        defer { ring.close() }
        var ends: [Int32] = [-1, -1]
        try #require(pipe(&ends) == 0)
        defer { for fd in ends { close(fd) } }
        // Three SQEs on a ring of two: the third submits the first two to make room.
        for tag in UInt64(1)...3 {
            #expect(try ring.prepare(.poll(fd: ends[1], mask: UInt32(POLLOUT)), userData: tag))
        }
        var got: [Ring.Completion] = []
        while got.count < 3 {
            #expect(try ring.submit(wait: true, timeout: .seconds(10)))
            let before = got.count
            ring.reap(into: &got)
            if got.count == before { break }
        }
        #expect(got.map(\.userData).sorted() == [1, 2, 3])
        #expect(got.allSatisfy { $0.result & Int32(POLLOUT) != 0 })
    }
}

/// A ring handed to one other thread, which alone uses it until it says it is done.
private struct HandedRing: @unchecked Sendable {
    let ring: Ring
}
