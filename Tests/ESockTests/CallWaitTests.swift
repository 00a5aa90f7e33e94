#if canImport(Glibc)
import Glibc
#endif
@testable import ESock
import Testing

/// The handle of the message a wait was woken with; nil when something else woke it.
private func wokenHandle(_ wake: Mailbox.Wake?) -> Handle? {
    if case .message(let m) = wake { return m.handle }
    return nil
}

/// The wait of an async socket call in its slot (``CallWait``): each wake-up is taken
/// once, and a cancel handler or timer of an earlier wait never wakes a later one. The state
/// machine alone (no socket, no backend: the async socket tests run it on both backends).
@Suite("CallWait: an async call's wait in its slot")
struct CallWaitTests {
    /// Suspends, hands the continuation to `body` (which must resume it), and returns after.
    private func withContinuation(_ body: (UnsafeContinuation<Void, Never>) -> Void) async {
        await withUnsafeContinuation { (c: UnsafeContinuation<Void, Never>) in body(c) }
    }

    @Test("a suspended wait is woken once, by the message about its handle only")
    func wokenByItsMessage() async {
        var wait = CallWait()
        let h = Handle.make()
        let other = Handle.make()
        let generation = wait.begin(h, ready: false)
        #expect(generation != 0)
        #expect(!wait.takes(h), "not suspended yet: a message waits in the queue")
        await withContinuation { c in
            let suspended = wait.park(c, generation: generation, ready: nil)
            #expect(suspended)
            #expect(wait.takes(h))
            #expect(!wait.takes(other))
            #expect(!wait.takes(nil))
            let taken = wait.wake(.timedOut)
            #expect(taken != nil)
            let again = wait.wake(.cancelled)
            #expect(again == nil, "woken once")
            #expect(!wait.takes(h))
            taken?.resume()
        }
        let (wake, demanded, timer) = wait.end()
        #expect(wake == .timedOut)
        #expect(demanded)
        #expect(timer == nil)
        #expect(!wait.isActive)
    }

    @Test("a wait withdrawn before it suspends does not suspend, and keeps the first wake-up")
    func withdrawnBeforePark() async {
        var wait = CallWait()
        let generation = wait.begin(Handle.make(), ready: false)
        let early = wait.withdraw(generation: generation, with: .cancelled)
        #expect(early == nil, "nothing to resume yet")
        #expect(wait.isWoken)
        let second = wait.withdraw(generation: generation, with: .timedOut)
        #expect(second == nil)
        await withContinuation { c in
            let suspended = wait.park(c, generation: generation, ready: .timedOut)
            #expect(!suspended)
            if !suspended { c.resume() }
        }
        let (wake, _, _) = wait.end()
        guard case .cancelled = wake else {
            Issue.record("woken with \(String(describing: wake)), not the first wake-up (cancelled)")
            return
        }
    }

    @Test("a timer or cancel handler of an earlier wait does not wake the next one")
    func staleGenerationIgnored() async {
        var wait = CallWait()
        let first = wait.begin(Handle.make(), ready: false)
        let set = wait.setTimer(7, generation: first)
        #expect(set)
        _ = wait.withdraw(generation: first, with: .timedOut)
        let (_, _, timer) = wait.end()
        #expect(timer == 7)
        let lateSet = wait.setTimer(8, generation: first)
        #expect(!lateSet, "the wait is over: its timer is to be cancelled")
        let late = wait.withdraw(generation: first, with: .timedOut)
        #expect(late == nil)

        let second = wait.begin(Handle.make(), ready: false)
        #expect(second != first)
        let stale = wait.withdraw(generation: first, with: .timedOut)
        #expect(stale == nil)
        #expect(!wait.isWoken, "the earlier wait's timer left the new one alone")
        let staleSet = wait.setTimer(9, generation: first)
        #expect(!staleSet)
        await withContinuation { c in
            let suspended = wait.park(c, generation: second, ready: nil)
            #expect(suspended)
            let staleCancel = wait.withdraw(generation: first, with: .cancelled)
            #expect(staleCancel == nil)
            let taken = wait.withdraw(generation: second, with: .cancelled)
            #expect(taken != nil)
            taken?.resume()
        }
        let (wake, _, timer2) = wait.end()
        guard case .cancelled = wake else {
            Issue.record("woken with \(String(describing: wake))")
            return
        }
        #expect(timer2 == nil)
    }

    @Test("a wait whose message was there at its start asks no backend to poll")
    func readyAtStart() async throws {
        var wait = CallWait()
        let generation = wait.begin(Handle.make(), ready: true)
        #expect(wait.isWoken)
        await withContinuation { c in
            let suspended = wait.park(c, generation: generation, ready: nil)
            #expect(!suspended)
            if !suspended { c.resume() }
        }
        let (wake, demanded, _) = wait.end()
        #expect(wake == .message)
        #expect(!demanded)
    }

    @Test("the wait's words first, its bytes last: 40 bytes, so that its slot fits 128")
    func compact() {
        #expect(MemoryLayout<CallWait>.size <= 40)
    }
}

/// The slot an async call's messages go to (``AsyncCallSlot``): a message the wait has not
/// suspended for is kept for it, a cancelled operation's is dropped, cancel flushes, a slot given
/// back keeps nothing, and a given-up operation's late message reaches a thread blocked for it.
@Suite("AsyncCallSlot: where an async call's messages go")
struct AsyncCallSlotTests {
    @Test("a message before the wait is kept for it; the wait then does not suspend", arguments: Backend.allCases)
    func keptForTheWait(backend: Backend) async throws {
        let socket = try Socket.open(.inet, .dgram, .udp, backend: backend.instance())
        defer { try? socket.close() }
        let slot = AsyncCallSlot()
        let h = Handle.make()
        slot.post(.select(socket: socket, handle: Handle.make()), unlessWithdrawn: nil)
        slot.post(.select(socket: socket, handle: h), unlessWithdrawn: nil)
        #expect(slot.count == 2)
        let generation = slot.begin(h, polledBy: socket.backend, deadline: nil)
        #expect(generation == nil, "its message is there: nothing to suspend for")
        let wake = slot.end(polledBy: socket.backend)
        #expect(wokenHandle(wake) == h, "woken with \(wake)")
        #expect(slot.count == 1, "the other call's message stays")
        slot.flush(handle: Handle.make())
        #expect(slot.count == 1, "a flush of another handle keeps it")
    }

    @Test("a suspended wait is woken by its message, posted from another thread", arguments: Backend.allCases)
    func wokenByPost(backend: Backend) async throws {
        let socket = try Socket.open(.inet, .dgram, .udp, backend: backend.instance())
        defer { try? socket.close() }
        let slot = AsyncCallSlot()
        let h = Handle.make()
        let generation = try #require(slot.begin(h, polledBy: socket.backend, deadline: nil))
        let poster = onThread { slot.post(.select(socket: socket, handle: h), unlessWithdrawn: nil) }
        await slot.suspend(generation)
        let wake = slot.end(polledBy: socket.backend)
        #expect(wokenHandle(wake) == h, "woken with \(wake)")
        try poster()
        #expect(slot.count == 0)
    }

    @Test("a message about a withdrawn operation is dropped; cancel's flush removes the rest", arguments: Backend.allCases)
    func withdrawnAndFlushed(backend: Backend) throws {
        let socket = try Socket.open(.inet, .dgram, .udp, backend: backend.instance())
        defer { try? socket.close() }
        let slot = AsyncCallSlot()
        let op = Operation(.recv, tag: .recv, handle: .make(), caller: .asyncCall(slot), socket: socket)
        op.withdrawn.store(true, ordering: .sequentiallyConsistent)
        slot.post(.select(socket: socket, handle: op.handle), unlessWithdrawn: op)
        #expect(slot.count == 0, "dropped")
        let h = Handle.make()
        slot.post(.select(socket: socket, handle: h), unlessWithdrawn: nil)
        slot.post(.abort(socket: socket, handle: h, reason: SocketError(.closed)), unlessWithdrawn: nil)
        #expect(slot.count == 2)
        slot.flush(handle: h)
        #expect(slot.count == 0)
    }

    @Test("a slot given back keeps nothing, and closes a connection accepted for a message left in it", arguments: Backend.allCases)
    func resetClosesAccepted(backend: Backend) throws {
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        let slot = AsyncCallSlot()
        slot.post(.completion(socket: p.listener, handle: Handle.make(), status: .accepted(p.server)), unlessWithdrawn: nil)
        slot.reset()
        #expect(slot.count == 0)
        #expect(throws: SocketError(.closed), "the accepted connection nobody will receive is closed") {
            _ = try p.server.sockname()
        }
    }

    @Test("a given-up operation's late message reaches the thread blocked for it; none: nil at the deadline", arguments: Backend.allCases)
    func lateMessage(backend: Backend) throws {
        let socket = try Socket.open(.inet, .dgram, .udp, backend: backend.instance())
        defer { try? socket.close() }
        let slot = AsyncCallSlot()
        let h = Handle.make()
        let poster = onThread {
            // Posted while the receiver blocks for it (or before: then it is kept and found).
            slot.post(.select(socket: socket, handle: h), unlessWithdrawn: nil)
        }
        let late = slot.receiveLate(h, polledBy: socket.backend, deadline: .after(.seconds(60)))
        try poster()
        #expect(late?.handle == h)
        #expect(slot.receiveLate(Handle.make(), polledBy: socket.backend, deadline: .now) == nil)
        #expect(slot.count == 0)
    }

    @Test("two messages about one operation are taken in the order they came, also once the oldest kept was taken", arguments: Backend.allCases)
    func keptInOrder(backend: Backend) throws {
        let socket = try Socket.open(.inet, .dgram, .udp, backend: backend.instance())
        defer { try? socket.close() }
        let slot = AsyncCallSlot()
        let a = Handle.make()
        let b = Handle.make()
        slot.post(.select(socket: socket, handle: a), unlessWithdrawn: nil)
        slot.post(.select(socket: socket, handle: b), unlessWithdrawn: nil)
        #expect(slot.begin(a, polledBy: socket.backend, deadline: nil) == nil)
        #expect(wokenHandle(slot.end(polledBy: socket.backend)) == a)
        // The oldest place is free again, and b's first message is still kept: b's second
        // message comes after it.
        slot.post(.abort(socket: socket, handle: b, reason: SocketError(.closed)), unlessWithdrawn: nil)
        #expect(slot.begin(b, polledBy: socket.backend, deadline: nil) == nil)
        let first = slot.end(polledBy: socket.backend)
        guard case .message(.select(_, let h)) = first, h == b else {
            Issue.record("b's first message (select) not taken first: \(first)")
            return
        }
        #expect(slot.begin(b, polledBy: socket.backend, deadline: nil) == nil)
        guard case .message(.abort(_, let h2, _)) = slot.end(polledBy: socket.backend), h2 == b else {
            Issue.record("b's second message (abort) not taken second")
            return
        }
        #expect(slot.count == 0)
    }

    @Test("a wait with a deadline woken by its message posted from another thread: the end takes the message out of the slot", arguments: Backend.allCases)
    func messageThenTimer(backend: Backend) async throws {
        let socket = try Socket.open(.inet, .dgram, .udp, backend: backend.instance())
        defer { try? socket.close() }
        let slot = AsyncCallSlot()
        let h = Handle.make()
        let generation = try #require(slot.begin(h, polledBy: socket.backend, deadline: .after(.seconds(3600))))
        let poster = onThread { slot.post(.select(socket: socket, handle: h), unlessWithdrawn: nil) }
        await slot.suspend(generation)
        try poster()
        #expect(wokenHandle(slot.end(polledBy: socket.backend)) == h)
        #expect(slot.count == 0, "the message that woke the wait is taken by its end")
        #expect(!slot.isWaiting)
    }

    @Test("a slot takes less memory than the pooled mailbox it replaced (three allocations, 368 B): one 112-byte malloc chunk")
    func slotSize() {
        // Many: a heap left by earlier tests can hand every one of a few requests a free chunk
        // 16 bytes larger than asked (too small a rest to split off: a one-at-a-time CI run gave
        // all of 8 slots 136 usable bytes); the first hundreds use such chunks up.
        let slots = (0..<512).map { _ in AsyncCallSlot() }
        guard let bytes = mallocUsableSize(ofSmallest: slots) else { return }
        #expect(bytes > 0 && bytes <= 104, "\(bytes) B")
        #expect(MemoryLayout<CallWait>.size <= 32)
    }
}

/// Where an async call's slot and state come from: the socket keeps the slot its last call gave
/// back, the next call on it takes that one, and a call's state lives in its slot's memory when
/// it fits (the receive's and the send's do; a larger one is allocated apart, and works alike).
@Suite("AsyncCallSlots: a socket's spare slot, and the call's state in it")
struct AsyncCallSlotReuseTests {
    /// The slot `socket` keeps now, by address; nil when it keeps none.
    private func kept(_ socket: Socket) -> UnsafeMutableRawPointer? {
        socket.spareCallSlot.load(ordering: .acquiring)?.toOpaque()
    }

    @Test("consecutive async calls on a socket use the slot it kept", arguments: Backend.allCases)
    func socketKeepsItsSlot(backend: Backend) async throws {
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        #expect(kept(p.server) == nil, "none before the first call")
        try await p.client.send([1, 2, 3])
        #expect(try await p.server.recv(length: 3) == [1, 2, 3])
        let first = try #require(kept(p.server))
        try await p.server.send([4])
        #expect(kept(p.server) == first, "the send took it and gave it back")
        let waiting = Task { try await p.server.recv(length: 2) }
        try await eventually("the receive waits in the kept slot") { kept(p.server) == nil }
        try await p.client.send([5, 6])
        #expect(try await waiting.value == [5, 6])
        #expect(kept(p.server) == first)
    }

    @Test("a receive's and a send's state fit in the slot; every call kind works either way")
    func stateSizes() {
        #expect(MemoryLayout<AsyncCallProgress<RecvCall>>.size <= AsyncCallSlot.progressCapacity)
        #expect(MemoryLayout<AsyncCallProgress<SendCall<ConnectedPeer>>>.size <= AsyncCallSlot.progressCapacity)
        #expect(MemoryLayout<AsyncCallProgress<AcceptCall>>.size <= AsyncCallSlot.progressCapacity)
        #expect(MemoryLayout<AsyncCallProgress<RecvCall>>.alignment <= AsyncCallSlot.progressAlignment)
        // 56 bytes: with malloc's header a 64-byte chunk.
        #expect(AsyncCallSlot.progressCapacity <= 56)
    }

    /// A call's deadline and whether it may wait share one word: each timeout reads back as
    /// it was given.
    @Test("a call's deadline and whether it may wait, for every kind of timeout")
    func deadlineAndMayWait() throws {
        let zero = CallProgress(RecvCall(length: 0, flags: []), timeout: .zero)
        #expect(!zero.mayWait && zero.deadline == nil)
        let forever = CallProgress(RecvCall(length: 0, flags: []), timeout: .infinity)
        #expect(forever.mayWait && forever.deadline == nil)
        let before = Deadline.now
        let soon = CallProgress(RecvCall(length: 0, flags: []), timeout: .seconds(5))
        let after = Deadline.now
        let d = try #require(soon.deadline)
        #expect(soon.mayWait && d >= before.advanced(by: .seconds(5)) && d <= after.advanced(by: .seconds(5)))
        // The longest timeout keeps a deadline (a century away, no trap); a negative one is a
        // zero one.
        let far = CallProgress(RecvCall(length: 0, flags: []), timeout: .milliseconds(Int.max))
        #expect(far.mayWait && far.deadline != nil)
        let past = CallProgress(RecvCall(length: 0, flags: []), timeout: .milliseconds(-5))
        #expect(!past.mayWait && past.deadline == nil)
    }

    @Test("call kinds whose state is larger than the slot's memory (async sendto and recvfrom) work alike", arguments: Backend.allCases)
    func largerState(backend: Backend) async throws {
        let io = try backend.instance()
        let a = try Socket.open(.inet, .dgram, .udp, backend: io)
        defer { try? a.close() }
        let b = try Socket.open(.inet, .dgram, .udp, backend: io)
        defer { try? b.close() }
        try a.bind(.loopback(port: 0))
        try b.bind(.loopback(port: 0))
        let sizes = [MemoryLayout<AsyncCallProgress<SendCall<SocketAddress>>>.size,
                     MemoryLayout<AsyncCallProgress<ReceiveMessageCall<PacketAddress>>>.size]
        for _ in 0..<3 {
            try await a.sendto([7, 8, 9], to: b.sockname())
            let got = try await b.recvfrom()
            #expect(got.data == [7, 8, 9])
        }
        #expect(sizes.allSatisfy { $0 > AsyncCallSlot.progressCapacity },
                "this test is for call kinds whose state does not fit in the slot: \(sizes)")
    }
}
