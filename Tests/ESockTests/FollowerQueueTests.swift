@testable import ESock
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `FollowerQueue`: the threads waiting for a backend's kernel-wait role, and the blocking
/// calls that go through it.
@Suite struct FollowerQueueTests {
    @Test("waiters leave from any place and the rest keep their order; a waiter is in the queue once")
    func order() throws {
        var queue = FollowerQueue()
        let waiters = (0..<5).map { _ in BlockingWaiter() }
        for w in waiters { queue.append(w) }
        queue.append(waiters[2])  // already in: stays where it is
        #expect(waiters.allSatisfy { queue.contains($0) })
        let removed = queue.remove(waiters[2]), again = queue.remove(waiters[2])
        #expect(removed && !again)
        #expect(!queue.contains(waiters[2]))
        let last = queue.remove(waiters[4])
        #expect(last)
        queue.append(waiters[2])           // back in, now last
        var taken: [BlockingWaiter] = []
        while let w = queue.removeFirst() { taken.append(w) }
        #expect(taken.map { ObjectIdentifier($0) } == [0, 1, 3, 2].map { ObjectIdentifier(waiters[$0]) })
        #expect(queue.isEmpty)
        #expect(waiters.allSatisfy { $0.followerLinks.queue == 0 && $0.followerLinks.next == nil })
    }

    @Test("a waiter in one queue is not in another, and leaves only its own")
    func twoQueues() {
        var a = FollowerQueue(), b = FollowerQueue()
        let w = BlockingWaiter()
        a.append(w)
        #expect(a.contains(w) && !b.contains(w))
        let fromB = b.remove(w)
        #expect(!fromB)
        #expect(a.contains(w))
        a.removeAll()
        #expect(a.isEmpty && !a.contains(w))
        b.append(w)
        #expect(b.contains(w))
        b.removeAll()
    }

    @Test("threads blocked in receives on one backend each get their own data, woken in another order than they slept",
          arguments: Backend.allCases)
    func manyBlockedThreads(_ backend: Backend) throws {
        let count = 64
        try withBlockedReceivers(on: backend.instance(), count: count, rounds: 3) { pairs in
            // Each round wakes the threads in another order: backwards, odd ones first, then
            // forwards; each client reads its echo before the next round.
            let orders = [Array((0..<count).reversed()),
                          Array(stride(from: 1, to: count, by: 2)) + Array(stride(from: 0, to: count, by: 2)),
                          Array(0..<count)]
            for (round, order) in orders.enumerated() {
                for i in order { try pairs[i].client.send([UInt8(i), UInt8(round)]) }
                for i in order {
                    #expect(try pairs[i].client.recv(length: 2, timeout: .seconds(60)) == [UInt8(i), UInt8(round)])
                }
            }
        }
    }
}
