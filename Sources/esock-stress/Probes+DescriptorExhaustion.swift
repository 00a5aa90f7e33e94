#if canImport(Glibc)
import Glibc
#endif
import ESock

/// Descriptor exhaustion on accept: connections wait in the listener's backlog while the
/// process has no descriptor free (its soft RLIMIT_NOFILE reached). An accept must fail at once
/// with `emfile` (OTP's `{error, emfile}`), in the direct and the nowait form, without a thread
/// spinning on a listener that stays readable; once descriptors are free, accepting works again
/// and no waiting connection was lost.
///
/// Runs in a process of its own: the lowered limit holds for the whole process.
func probeDescriptorExhaustion(_ backend: any IOBackend) throws(SocketError) {
    // Two listeners: on A an accept waits before the descriptors run out and its connection
    // comes after; on B no accept was ever made (so no multishot accept is armed on the ring)
    // and three connections wait in the backlog (the kernel completes them without an accept).
    let listenerA = try openListener(backend)
    let listenerB = try openListener(backend)
    let clientA = try Socket.open(.inet, .stream, .tcp, backend: backend)
    var clientsB: [Socket] = []
    for _ in 0..<3 {
        let c = try Socket.open(.inet, .stream, .tcp, backend: backend)
        try c.connect(listenerB.sockname(), timeout: .seconds(5))
        clientsB.append(c)
    }
    let waited = Locked<Result<Socket, SocketError>?>(nil)
    let acceptor = spawn {
        do throws(SocketError) {
            let s = try listenerA.accept(timeout: .seconds(20))
            waited.withLock { $0 = .success(s) }
        } catch {
            waited.withLock { $0 = .failure(error) }
        }
    }
    waitFor("the accept on A to wait") { listenerA.info().numAcceptors == 1 }

    // No descriptor free: the soft limit just above the highest open descriptor, the numbers
    // below it filled.
    var saved = rlimit()
    check(getrlimit(Int32(RLIMIT_NOFILE.rawValue), &saved) == 0, "getrlimit(RLIMIT_NOFILE)")
    var lowered = saved
    lowered.rlim_cur = rlim_t(highestOpenDescriptor() + 9)
    check(setrlimit(Int32(RLIMIT_NOFILE.rawValue), &lowered) == 0, "soft RLIMIT_NOFILE lowered to \(lowered.rlim_cur)")
    var fillers: [Int32] = []
    while true {
        let fd = dup(0)
        if fd < 0 { break }
        fillers.append(fd)
    }
    check(errno == EMFILE && !fillers.isEmpty, "every descriptor taken (\(fillers.count) fillers, then \(errno == EMFILE ? "EMFILE" : "errno \(errno)"))")

    // B: a direct accept fails at once, not after its timeout.
    let start = ContinuousClock.now
    let direct = thrown { () throws(SocketError) in try listenerB.accept(timeout: .seconds(20)) }
    let took = ContinuousClock.now - start
    check(direct == .posix(EMFILE), "a direct accept fails with emfile: \(String(describing: direct))")
    check(took < .seconds(10), "... at once (\(took)), not at its timeout")

    // B: the nowait form, at once or in its completion message.
    let mailbox = Mailbox()
    do throws(SocketError) {
        switch try listenerB.accept(nowait: mailbox) {
        case .done(let s):
            try? s.close()
            fail("a nowait accept got a socket with no descriptor free")
        case .select(let info, _):
            guard case .select? = mailbox.receive(handle: info.handle, timeout: .seconds(10)) else {
                fail("no select message for the nowait accept")
            }
            let again = thrown { () throws(SocketError) in try listenerB.accept(nowait: mailbox) }
            check(again == .posix(EMFILE), "the nowait accept made again fails with emfile: \(String(describing: again))")
        case .completion(let info):
            let message = mailbox.receive(handle: info.handle, timeout: .seconds(10))
            guard case .completion(_, _, .failed(let error))? = message else {
                fail("the nowait accept's completion: \(String(describing: message))")
            }
            check(error == .posix(EMFILE), "the nowait accept's completion message carries emfile: \(error)")
        }
    } catch {
        check(error == .posix(EMFILE), "the nowait accept fails at once with emfile: \(error)")
    }
    expectNoSpin(clientsB[0], "B's backlog waits and nothing can accept it")

    // A: the waiting accept's connection arrives now. Select: the accept made on readiness
    // fails with emfile. Completion: the kernel took the limit when the accept's SQE was
    // prepared, before it was lowered, so it gets a descriptor above the limit. Either way the
    // call ends at once.
    try clientA.connect(listenerA.sockname(), timeout: .seconds(5))
    acceptor()
    var serverA: Socket?
    switch waited.withLock({ $0 }) {
    case .success(let s)?:
        check(backend.model == .completion, "the waiting accept got its connection (descriptor \(s.fd), its SQE prepared before the limit was lowered)")
        serverA = s
    case .failure(let error)?:
        check(error == .posix(EMFILE), "the waiting accept fails with emfile: \(error)")
    case nil:
        fail("the waiting accept did not end")
    }
    expectNoSpin(clientsB[0], "A's connection waits too")

    // Descriptors free again: every waiting connection is accepted, once, and works.
    for fd in fillers { close(fd) }
    check(setrlimit(Int32(RLIMIT_NOFILE.rawValue), &saved) == 0, "soft RLIMIT_NOFILE restored")
    var accepted: [Socket] = []
    for i in 0..<3 {
        let s = try listenerB.accept(timeout: .seconds(10))
        try s.send([UInt8(i)], timeout: .seconds(5))
        accepted.append(s)
    }
    var seen: Set<UInt8> = []
    for c in clientsB { seen.insert(try c.recv(length: 1, timeout: .seconds(5))[0]) }
    check(seen == [0, 1, 2], "B's three waiting connections were each accepted once: \(seen.sorted())")
    let acceptedA: Socket
    if let serverA { acceptedA = serverA } else { acceptedA = try listenerA.accept(timeout: .seconds(10)) }
    try acceptedA.send([7], timeout: .seconds(5))
    check(try clientA.recv(length: 1, timeout: .seconds(5)) == [7], "A's connection is accepted and works")
    // New connections are accepted on both (a multishot accept that ended on the error is armed
    // again).
    var late: [Socket] = []
    for l in [listenerA, listenerB] {
        let c = try Socket.open(.inet, .stream, .tcp, backend: backend)
        try c.connect(l.sockname(), timeout: .seconds(5))
        let s = try l.accept(timeout: .seconds(10))
        try c.send([9], timeout: .seconds(5))
        check(try s.recv(length: 1, timeout: .seconds(5)) == [9], "a new connection after the exhaustion is accepted and works")
        late += [c, s]
    }
    for s in clientsB + accepted + late + [clientA, acceptedA, listenerA, listenerB] { try s.close() }
}

private func openListener(_ backend: any IOBackend) throws(SocketError) -> Socket {
    let l = try Socket.open(.inet, .stream, .tcp, backend: backend)
    try l.bind(.loopback(port: 0))
    try l.listen(backlog: 16)
    return l
}

/// Nothing spins while a listener stays readable and no accept can take its connection: over a
/// 300 ms wait (a receive on `idle` that times out) the process uses far less CPU than that.
private func expectNoSpin(_ idle: Socket, _ while: String) {
    let before = processCPUTime()
    let outcome = thrown { () throws(SocketError) in _ = try idle.recv(timeout: .milliseconds(300)) }
    let cpu = processCPUTime() - before
    check(outcome == .timeout, "a receive with nothing to read times out: \(String(describing: outcome))")
    check(cpu < .milliseconds(150), "no thread spins while \(`while`): \(cpu) of CPU over a 300 ms wait")
}

/// The highest descriptor number this process has open.
private func highestOpenDescriptor() -> Int32 {
    guard let numbers = openDescriptorNumbers() else { return 1024 }
    return max(2, numbers.max() ?? 2)
}

/// The CPU time this process has used (every thread, user and system).
private func processCPUTime() -> Duration {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return .seconds(ts.tv_sec) + .nanoseconds(ts.tv_nsec)
}
