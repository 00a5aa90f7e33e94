@testable import ESock
import Testing

/// The completion backend's table of what the kernel holds: each SQE names a slot; a slot a
/// cancel in the ring still targets is not given to another SQE, even after its operation's
/// last CQE, so that a late cancel can never reach an SQE it was not meant for.
@Suite("What the kernel holds: slots, user data, cancels")
struct KernelHoldsTests {
    private func operations(_ n: Int, on backend: Backend) throws -> (Socket, [Operation]) {
        let s = try Socket.open(.inet, .stream, .tcp, backend: backend.instance())
        return (s, (0..<n).map { _ in Operation(.recv, tag: .recv, handle: .make(), caller: .mailbox(Mailbox()), socket: s) })
    }

    @Test("user data names the slot and the kind, never 0 nor the wake-up's", arguments: Backend.allCases)
    func userData(_ backend: Backend) throws {
        let (s, ops) = try operations(3, on: backend)
        defer { try? s.close() }
        var holds = KernelHolds()
        var seen: Set<UInt64> = [KernelHolds.wakeUserData, 0]
        for op in ops {
            let (slot, data) = holds.hold(op, as: .operation)
            #expect(seen.insert(data).inserted)
            let decoded = try #require(KernelHolds.decode(data))
            #expect(decoded.slot == Int(slot) && decoded.kind == .operation)
            #expect(holds.peek(decoded.slot) === op)
            // Beside the strong reference, the operation and its socket unretained, for a CQE
            // with more to come.
            let peer = try #require(holds.peer(decoded.slot))
            #expect(peer.operation.takeUnretainedValue() === op && peer.socket.takeUnretainedValue() === s)
        }
        #expect(KernelHolds.decode(KernelHolds.wakeUserData) == nil)
        #expect(holds.count == 3 && holds.operations.count == 0, "no operation says its SQE is in yet")
        for i in 0..<3 { #expect(holds.release(i) === ops[i]) }
        #expect(holds.count == 0 && holds.release(0) == nil)
        #expect((0..<3).allSatisfy { holds.peer($0) == nil }, "a released slot names nothing")
        // A reused slot names its new operation.
        let (slot, _) = holds.hold(ops[2], as: .operation)
        #expect(holds.peer(Int(slot))?.operation.takeUnretainedValue() === ops[2])
    }

    @Test("prefetching a slot's socket and operation changes nothing, for held, free and unknown slots",
          arguments: Backend.allCases)
    func prefetchChangesNothing(_ backend: Backend) throws {
        let (s, ops) = try operations(2, on: backend)
        defer { try? s.close() }
        var holds = KernelHolds()
        let (a, _) = holds.hold(ops[0], as: .operation)
        let (b, _) = holds.hold(ops[1], as: .operation)
        #expect(holds.release(Int(b)) === ops[1])
        for slot in [Int(a), Int(b), 2, 1 << 20, -1, Int.max] {
            for operation in [false, true] { holds.prefetch(slot, operation: operation) }
        }
        #expect(holds.count == 1 && holds.peek(Int(a)) === ops[0] && holds.peer(Int(b)) == nil)
        #expect(holds.peer(Int(a))?.socket.takeUnretainedValue() === s)
        #expect((2...16).contains(Socket.cacheLines), "a socket spans \(Socket.cacheLines) cache lines")
    }

    @Test("a slot a cancel targets is retired until the cancel's CQE", arguments: Backend.allCases)
    func cancelKeepsTheTargetSlot(_ backend: Backend) throws {
        let (s, ops) = try operations(4, on: backend)
        defer { try? s.close() }
        var holds = KernelHolds()
        let (a, _) = holds.hold(ops[0], as: .operation)
        let cancel = holds.holdCancel(of: ops[0], target: a)
        #expect(KernelHolds.decode(cancel)?.kind == .cancel)
        // The operation's last CQE comes first: its slot is not reused while the cancel is in.
        #expect(holds.release(Int(a)) === ops[0])
        let (b, _) = holds.hold(ops[1], as: .operation)
        #expect(b != a)
        holds.releaseCancel(cancel)
        #expect(holds.count == 1)
        // Both the cancel's slot and the retired one are free now.
        let (c, _) = holds.hold(ops[2], as: .operation)
        let (d, _) = holds.hold(ops[3], as: .operation)
        #expect(Set([c, d]) == Set([a, KernelHolds.decode(cancel).map { Int32($0.slot) }!]))
    }

    @Test("a cancel whose CQE comes before its target's last one frees only its own slot", arguments: Backend.allCases)
    func cancelFirst(_ backend: Backend) throws {
        let (s, ops) = try operations(3, on: backend)
        defer { try? s.close() }
        var holds = KernelHolds()
        let (a, _) = holds.hold(ops[0], as: .operation)
        let first = holds.holdCancel(of: ops[0], target: a)
        let second = holds.holdCancel(of: ops[0], target: a)
        holds.releaseCancel(first)
        holds.releaseCancel(second)
        #expect(holds.peek(Int(a)) === ops[0], "the target is still held")
        #expect(holds.release(Int(a)) === ops[0])
        #expect(holds.count == 0)
        // Three slots were used; all three are free again.
        let reused = (0..<3).map { holds.hold(ops[$0], as: .operation).slot }
        #expect(Set(reused).count == 3 && reused.allSatisfy { $0 < 3 })
    }
}
