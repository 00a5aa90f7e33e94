#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Deadlines of asynchronous waits on one backend (an async call's timeout): whoever waits in
/// the backend's kernel wait waits at most until the earliest, and fires those that are due.
/// The actions run after the lock, on the polling thread.
final class TimerQueue: Sendable {
    private struct Timer {
        let deadline: Deadline
        let id: UInt64
        let action: @Sendable () -> Void
    }

    private struct State {
        /// A binary min-heap on `deadline`.
        var heap: [Timer] = []
        var nextID: UInt64 = 1
        /// Ids cancelled while still in the heap (dropped when they surface).
        var cancelled: Set<UInt64> = []
    }

    private let state = Locked(State())
    /// Whether any timer is scheduled: a poll with none reads no lock.
    private let pending = Atomic<Int>(0)

    /// Schedules `action` at `deadline`. Returns its id (for ``cancel(_:)``) and whether it is
    /// now the earliest (then a thread already in the kernel wait must be woken to wait less).
    func schedule(_ deadline: Deadline, _ action: @escaping @Sendable () -> Void) -> (id: UInt64, earliest: Bool) {
        let result = state.withLock { s -> (UInt64, Bool) in
            let id = s.nextID
            s.nextID += 1
            s.heap.append(Timer(deadline: deadline, id: id, action: action))
            var i = s.heap.count - 1
            while i > 0 {
                let parent = (i - 1) / 2
                guard s.heap[i].deadline < s.heap[parent].deadline else { break }
                s.heap.swapAt(i, parent)
                i = parent
            }
            return (id, i == 0)
        }
        pending.wrappingAdd(1, ordering: .releasing)
        return result
    }

    /// Cancels a timer that has not fired (its action will not run).
    func cancel(_ id: UInt64) {
        let removed = state.withLock { s -> Int in
            s.cancelled.insert(id)
            // Most timers are cancelled (the wait ended first): once they are half the heap, it
            // is rebuilt without them, so it holds about the live timers, not every one since.
            guard s.cancelled.count > 64 && s.cancelled.count * 2 > s.heap.count else { return 0 }
            let before = s.heap.count
            s.heap.removeAll { s.cancelled.contains($0.id) }
            s.cancelled.removeAll()
            for i in stride(from: s.heap.count / 2 - 1, through: 0, by: -1) { Self.siftDown(&s.heap, i) }
            return before - s.heap.count
        }
        if removed > 0 { pending.wrappingSubtract(removed, ordering: .relaxed) }
    }

    /// How long a kernel wait that would wait `timeout` (nil: no limit) may wait: until the
    /// earliest timer at the most.
    func limit(_ timeout: Duration?) -> Duration? {
        guard pending.load(ordering: .acquiring) > 0 else { return timeout }
        let earliest = state.withLock { $0.heap.first?.deadline }
        guard let earliest else { return timeout }
        let untilTimer = max(earliest.remaining(), .zero)
        guard let timeout else { return untilTimer }
        return min(timeout, untilTimer)
    }

    /// Runs the actions of the timers that are due (not cancelled), outside the lock.
    func fireDue() {
        guard pending.load(ordering: .acquiring) > 0 else { return }
        let now = Deadline.now
        var due: [@Sendable () -> Void] = []
        state.withLock { s in
            while let first = s.heap.first, first.deadline <= now || s.cancelled.contains(first.id) {
                let timer = Self.popMin(&s.heap)
                if s.cancelled.remove(timer.id) == nil { due.append(timer.action) }
                pending.wrappingSubtract(1, ordering: .relaxed)
            }
        }
        for action in due { action() }
    }

    private static func popMin(_ heap: inout [Timer]) -> Timer {
        let top = heap[0]
        let last = heap.removeLast()
        guard !heap.isEmpty else { return top }
        heap[0] = last
        siftDown(&heap, 0)
        return top
    }

    private static func siftDown(_ heap: inout [Timer], _ start: Int) {
        var i = start
        while true {
            let l = 2 * i + 1, r = l + 1
            var smallest = i
            if l < heap.count && heap[l].deadline < heap[smallest].deadline { smallest = l }
            if r < heap.count && heap[r].deadline < heap[smallest].deadline { smallest = r }
            guard smallest != i else { return }
            heap.swapAt(i, smallest)
            i = smallest
        }
    }
}
