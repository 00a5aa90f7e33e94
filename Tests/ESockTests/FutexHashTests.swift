@testable import ESock
import CESockShims
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `ESock.sizeFutexHash(forBlockedThreads:)`: the process's private futex hash (Linux 6.16+),
/// which every thread asleep in a blocking call waits in, sized for many such threads.
@Suite struct FutexHashTests {
    @Test("the slots asked for are a power of two covering the threads, from 16 to the limit, for any count")
    func slotsForCounts() {
        #expect(ESock.futexHashSlots(for: 1) == 16)
        #expect(ESock.futexHashSlots(for: 16) == 16)
        #expect(ESock.futexHashSlots(for: 17) == 32)
        #expect(ESock.futexHashSlots(for: 10_000) == 16_384)
        #expect(ESock.futexHashSlots(for: ESock.futexHashSlotsLimit + 1) == ESock.futexHashSlotsLimit)
        #expect(ESock.futexHashSlots(for: .max) == ESock.futexHashSlotsLimit)
    }

    @Test("a count that is not positive is refused with invalid")
    func refusesNonPositiveCounts() {
        for threads in [0, -1, Int.min] {
            #expect {
                _ = try ESock.sizeFutexHash(forBlockedThreads: threads)
            } throws: { error in
                guard let e = error as? SocketError, case .invalid = e.reason else { return false }
                return true
            }
        }
    }

    @Test("the table grows to cover the threads, and a smaller count never shrinks it")
    func growsAndNeverShrinks() throws {
        guard let slots = try ESock.sizeFutexHash(forBlockedThreads: 3_000) else {
            try Machine.skip("the kernel has no private futex hash (prctl PR_FUTEX_HASH, Linux 6.16+): nothing to size")
        }
        #expect(slots >= 4_096)
        #expect(slots & (slots - 1) == 0)
        // Other tests of the run may grow the table meanwhile, never shrink it.
        #expect(Int(esock_futex_hash_slots()) >= slots)
        let again = try #require(try ESock.sizeFutexHash(forBlockedThreads: 100))
        #expect(again >= slots)
        #expect(Int(esock_futex_hash_slots()) >= again)
    }

    @Test("threads blocked in receives all wake with their data once the table grew under them",
          arguments: Backend.allCases)
    func blockedThreadsWakeAfterResize(_ backend: Backend) throws {
        try withBlockedReceivers(on: backend.instance(), count: 24, rounds: 1) { pairs in
            // Resized while the threads block (a resize moves the waiters already in the
            // table); none of them may lose its wake-up.
            _ = try ESock.sizeFutexHash(forBlockedThreads: 8_192)
            for (i, pair) in pairs.enumerated() { try pair.client.send([UInt8(i), 0]) }
            for (i, pair) in pairs.enumerated() {
                #expect(try pair.client.recv(length: 2, timeout: .seconds(60)) == [UInt8(i), 0])
            }
        }
    }
}
