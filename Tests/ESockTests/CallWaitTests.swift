@testable import ESock
import Testing

/// The wait of an async socket call in its pooled mailbox (``CallWait``): each wake-up is taken
/// once, and a cancel handler or timer of an earlier wait never wakes a later one. The state
/// machine alone (no socket, no backend: the async socket tests run it on both backends).
@Suite("CallWait: an async call's wait in its mailbox")
struct CallWaitTests {
    /// Suspends, hands the continuation to `body` (which must resume it), and returns after.
    private func withContinuation(_ body: (UnsafeContinuation<Void, Never>) -> Void) async {
        await withUnsafeContinuation { (c: UnsafeContinuation<Void, Never>) in body(c) }
    }

    private func handle(_ wake: Mailbox.Wake?) -> Handle? {
        if case .message(let m) = wake { return m.handle }
        return nil
    }

    @Test("a suspended wait is woken once, by the message about its handle only")
    func wokenByItsMessage() async {
        var wait = CallWait()
        let h = Handle.make()
        let other = Handle.make()
        let generation = wait.begin(h, ready: nil)
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
        #expect(wake?.isTimeout == true)
        #expect(demanded)
        #expect(timer == nil)
        #expect(!wait.isActive)
    }

    @Test("a wait withdrawn before it suspends does not suspend, and keeps the first wake-up")
    func withdrawnBeforePark() async {
        var wait = CallWait()
        let generation = wait.begin(Handle.make(), ready: nil)
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
        let first = wait.begin(Handle.make(), ready: nil)
        let set = wait.setTimer(7, generation: first)
        #expect(set)
        _ = wait.withdraw(generation: first, with: .timedOut)
        let (_, _, timer) = wait.end()
        #expect(timer == 7)
        let lateSet = wait.setTimer(8, generation: first)
        #expect(!lateSet, "the wait is over: its timer is to be cancelled")
        let late = wait.withdraw(generation: first, with: .timedOut)
        #expect(late == nil)

        let second = wait.begin(Handle.make(), ready: nil)
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
        let h = Handle.make()
        let socket = try Socket.open(.inet, .dgram, .udp)
        defer { try? socket.close() }
        var wait = CallWait()
        let generation = wait.begin(h, ready: .message(.select(socket: socket, handle: h)))
        #expect(wait.isWoken)
        await withContinuation { c in
            let suspended = wait.park(c, generation: generation, ready: nil)
            #expect(!suspended)
            if !suspended { c.resume() }
        }
        let (wake, demanded, _) = wait.end()
        #expect(handle(wake) == h)
        #expect(!demanded)
    }
}

/// The pooled mailboxes of async calls (`AsyncMailboxes`): given back emptied, and made to
/// expect the next call's backend only, whichever backends the call before used.
@Suite("AsyncMailboxes: a pooled mailbox between calls")
struct AsyncMailboxesTests {
    @Test("a reused mailbox expects only its new call's backend, and holds nothing from the last", arguments: Backend.allCases)
    func reuseAcrossBackends(backend: Backend) throws {
        let first = try Socket.open(.inet, .stream, .tcp, backend: Backend.select.instance())
        defer { try? first.close() }
        let second = try Socket.open(.inet, .stream, .tcp, backend: backend.instance())
        defer { try? second.close() }
        // What `AsyncMailboxes` does to each mailbox between calls, on one not in the pool.
        let mailbox = Mailbox()
        mailbox.expectOnly(first.backend)
        mailbox.expect(second.backend)
        // A message left behind (a call given up whose last message came after all).
        mailbox.post(.select(socket: first, handle: Handle(id: 1)))
        mailbox.resetForReuse()
        #expect(mailbox.count == 0, "emptied when given back")
        // Its next call, on `backend`.
        mailbox.expectOnly(second.backend)
        let (driver, spans) = (mailbox.core.driver, mailbox.core.spansBackends)
        #expect(driver === second.backend && !spans, "it expects the new call's backend only")
    }
}
