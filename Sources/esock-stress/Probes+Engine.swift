#if canImport(Glibc)
import Glibc
#endif
import ESock
import Synchronization
import SystemPackage

/// An owner mailbox whose last reference of the user's goes while its sockets have nowait
/// operations pending: closing them neither crashes (no deinit closes anything inside a lock)
/// nor hangs (no deinit waits for the ring); the owner ends when it is ended.
func probeDroppedOwner(_ backend: any IOBackend) throws(SocketError) {
    // The owner's only reference left is its one socket's pending receive: closing the socket
    // releases that operation (it once did so inside the socket's lock, and the owner's deinit
    // then closed the socket again: "Recursive call to lock Mutex").
    for round in 0..<20 {
        let l = try Socket.open(.inet, .stream, .tcp, backend: backend)
        try l.bind(.loopback(port: 0))
        try l.listen()
        var only: Socket?
        do {
            let owner = Mailbox()
            let c = try Socket.open(.inet, .stream, .tcp, backend: backend, owner: owner)
            try c.connect(l.sockname(), timeout: .seconds(5))
            _ = try c.recv(nowait: owner)
            only = c
        }
        let peer = try l.accept(timeout: .seconds(5))
        guard let only else { fail("no socket") }
        try only.close()
        check(thrown { () throws(SocketError) in try only.close() }?.reason == .closed, "round \(round): the only socket of a dropped owner closed")
        try peer.close()
        try l.close()
    }
    // A dropped owner's receive completes where completions are handled (the ring owner's
    // thread on completion) while its other socket's receive is in the kernel, reporting
    // elsewhere: nothing there may close that socket and wait for the kernel (once a hang).
    let other = Mailbox()
    for round in 0..<5 {
        let l = try Socket.open(.inet, .stream, .tcp, backend: backend)
        try l.bind(.loopback(port: 0))
        try l.listen()
        var reporting: Socket?, elsewhere: Socket?
        do {
            let owner = Mailbox()
            let a = try Socket.open(.inet, .stream, .tcp, backend: backend, owner: owner)
            let b = try Socket.open(.inet, .stream, .tcp, backend: backend, owner: owner)
            try a.connect(l.sockname(), timeout: .seconds(5))
            try b.connect(l.sockname(), timeout: .seconds(5))
            _ = try a.recv(nowait: owner)
            _ = try b.recv(nowait: other)
            reporting = a
            elsewhere = b
        }
        let peerA = try l.accept(timeout: .seconds(5)), peerB = try l.accept(timeout: .seconds(5))
        try peerA.send([1], timeout: .seconds(5))
        guard let reporting, let elsewhere else { fail("no sockets") }
        waitFor("round \(round): the receive to complete") { reporting.counters.readByte == 1 || reporting.info().numReaders == 1 }
        check(other.receive(timeout: .milliseconds(100)) == nil, "round \(round): nothing reached the other mailbox")
        check(ESock.whichSockets().contains(elsewhere), "round \(round): the owner's other socket is still open")
        for s in [reporting, elsewhere, peerA, peerB, l] { try s.close() }
        _ = other.receive(timeout: .zero)
    }
    for round in 0..<20 {
        var first: Socket?
        var second: Socket?
        var listeners: [Socket] = []
        var peers: [Socket] = []
        do {
            let owner = Mailbox()
            for _ in 0..<2 {
                let l = try Socket.open(.inet, .stream, .tcp, backend: backend)
                try l.bind(.loopback(port: 0))
                try l.listen()
                let c = try Socket.open(.inet, .stream, .tcp, backend: backend, owner: owner)
                try c.connect(l.sockname(), timeout: .seconds(5))
                peers.append(try l.accept(timeout: .seconds(5)))
                listeners.append(l)
                _ = try c.recv(nowait: owner)
                if first == nil { first = c } else { second = c }
            }
        }
        guard let first, let second else { fail("no sockets") }
        try first.close()
        check(ESock.whichSockets().contains(second), "round \(round): the dropped owner's other socket stays open")
        second.owner?.end()
        check(thrown { () throws(SocketError) in try second.close() }?.reason == .closed, "round \(round): ending the owner closed it")
        for s in listeners + peers { try s.close() }
    }
}

/// Selective receives whose predicates use the socket the message is about (its counters, its
/// info) and other sockets: they run with no lock held.
func probePredicates(_ backend: any IOBackend) throws(SocketError) {
    let p = try pair(backend)
    defer { for s in [p.client, p.server, p.listener] { try? s.close() } }
    // An async waiter's predicate: it runs on the waiting task, not inside the post of the
    // backend's thread (which held the socket's lock: "Recursive call to lock Mutex").
    let waiting = Mailbox()
    for round in 0..<20 {
        let pending = try p.server.recv(nowait: waiting)
        guard let handle = pending.handle else { continue }
        let server = p.server
        let got = ProbeBox<SocketMessage>()
        Task {
            let m = await waiting.next { m in
                _ = m.socket.counters
                _ = server.info()
                return m.handle == handle
            }
            got.set(m)
        }
        try p.client.send([UInt8(truncatingIfNeeded: round)], timeout: .seconds(5))
        waitFor("round \(round): the async predicate's message") { got.isSet }
        let message = got.value
        check(message?.handle == handle, "round \(round): an async predicate reading the socket took its message")
        if case .select? = message { _ = try p.server.recv(nowait: waiting) }
    }
    let mb = Mailbox()
    for round in 0..<50 {
        let pending = try p.server.recv(nowait: mb)
        try p.client.send([UInt8(truncatingIfNeeded: round)], timeout: .seconds(5))
        guard pending.handle != nil else { continue }
        let m = mb.receive(timeout: .seconds(5)) { message in
            _ = message.socket.counters
            _ = message.socket.info()
            _ = p.client.counters
            return message.handle == pending.handle
        }
        check(m != nil, "round \(round): a predicate reading the socket's counters took its message")
        // Select: the receive is finished by calling again (its caller is the current reader).
        if case .select? = m { _ = try p.server.recv(nowait: mb) }
    }
}

/// Two sockets, each with a nowait operation whose mailbox owns the other socket: closing both
/// at once from two threads, many times, never deadlocks (no mailbox, owner or other socket is
/// touched inside a socket's lock).
func probeLockOrder(_ backend: any IOBackend) throws(SocketError) {
    let l = try Socket.open(.inet, .stream, .tcp, backend: backend)
    try l.bind(.loopback(port: 0))
    try l.listen(backlog: 256)
    defer { try? l.close() }
    for round in 0..<200 {
        let ownerOfA = Mailbox(), ownerOfB = Mailbox()
        let a = try Socket.open(.inet, .stream, .tcp, backend: backend, owner: ownerOfA)
        let b = try Socket.open(.inet, .stream, .tcp, backend: backend, owner: ownerOfB)
        try a.connect(l.sockname(), timeout: .seconds(5))
        try b.connect(l.sockname(), timeout: .seconds(5))
        let peerA = try l.accept(timeout: .seconds(5)), peerB = try l.accept(timeout: .seconds(5))
        // A's receive reports to B's owner and B's to A's.
        _ = try a.recv(nowait: ownerOfB)
        _ = try b.recv(nowait: ownerOfA)
        let closeA = spawn { ownerOfA.end() }
        let closeB = spawn { ownerOfB.end() }
        closeA()
        closeB()
        check(thrown { () throws(SocketError) in try a.close() }?.reason == .closed &&
              thrown { () throws(SocketError) in try b.close() }?.reason == .closed, "round \(round): both closed")
        try peerA.close()
        try peerB.close()
    }
}

/// Options and names are read and set through the one descriptor accessor that agrees with
/// close: racing close against setopt while new sockets take the freed numbers, no setopt ever
/// reaches another socket.
func probeDescriptorRace(_ backend: any IOBackend) throws(SocketError) {
    let marked = 4096
    var touched = 0
    for round in 0..<300 {
        let victim = try Socket.open(.inet, .dgram, .udp, backend: backend)
        let start = Atomic<Bool>(false)
        let setter = spawn {
            while !start.load(ordering: .acquiring) { sched_yield() }
            for _ in 0..<20 { _ = try? victim.setopt(.socket(.rcvbuf), .int(marked)) }
        }
        start.store(true, ordering: .releasing)
        try victim.close()
        // New sockets take the freed number while the setter may still be going.
        var fresh: [Socket] = []
        for _ in 0..<4 { fresh.append(try Socket.open(.inet, .dgram, .udp, backend: backend)) }
        setter()
        for s in fresh {
            if case .int(let v) = try s.getopt(.socket(.rcvbuf)), v == marked * 2 { touched += 1 }
            try s.close()
        }
        if touched > 0 { fail("round \(round): a setopt on a closed socket reached a new one") }
    }
    ok("300 rounds of close racing setopt: no setopt reached another socket")
}

/// A backend that stops: sockets still open are closed (pending operations aborted, a blocked
/// caller gets `closed`), new sockets are refused with `backendStopped`, nothing hangs, and a
/// new backend works on the freed descriptor numbers.
func probeShutdown(_ backend: any IOBackend, _ backendName: String) throws(SocketError) {
    let p = try pair(backend)
    let mb = Mailbox()
    let pending = try p.server.recv(nowait: mb)
    let blocked = Atomic<Int>(0)
    let client = p.client
    let blocker = spawn {
        do throws(SocketError) {
            _ = try client.recv(timeout: .seconds(30))
            blocked.store(1, ordering: .releasing)
        } catch {
            blocked.store(error.reason == .closed ? 2 : 3, ordering: .releasing)
        }
    }
    waitFor("the blocking receive to wait") { client.info().numReaders == 1 }
    backend.shutdown()
    blocker()
    check(blocked.load(ordering: .acquiring) == 2, "a blocked receive ends with closed")
    if let handle = pending.handle {
        // The backend closes its sockets one by one: the peer's close may end the receive
        // first (end of stream, or a select message for it), else the receive's own close.
        var message = mb.receive(handle: handle, timeout: .seconds(5))
        if case .select? = message { message = mb.receive(handle: handle, timeout: .seconds(5)) }
        let closed: Bool
        switch message {
        case .abort(_, _, let reason)?: closed = reason.reason == .closed
        case .completion(_, _, .failed(let e))?: closed = e.reason == .closed
        default: closed = false
        }
        check(closed, "the pending nowait receive ends with closed: \(message.map { "\($0)" } ?? "no message")")
    }
    check(thrown { () throws(SocketError) in try p.server.recv(timeout: .seconds(1)) }?.reason == .closed,
          "a receive on a socket of the stopped backend is closed")
    let refused = thrown { () throws(SocketError) in try Socket.open(.inet, .stream, .tcp, backend: backend) }
    check(refused.map { if case .backendStopped = $0.reason { true } else { false } } ?? false,
          "open on a stopped backend is refused: \(refused.map { "\($0)" } ?? "opened")")
    check(backend.info().settings["state"] == "stopped", "info says stopped")
    backend.shutdown()
    // A new backend, on the descriptor numbers the old one freed.
    let fresh = try makeBackend(backendName)
    let q = try pair(fresh)
    try q.client.send([1, 2, 3], timeout: .seconds(5))
    check(try q.server.recv(length: 3, timeout: .seconds(5)) == [1, 2, 3], "a new backend works after the old one stopped")
    for s in [q.client, q.server, q.listener] { try s.close() }
    fresh.shutdown()
}

/// Signals interrupting the backend's kernel waits (EINTR from epoll_wait and io_uring_enter)
/// lose nothing: echo rounds go on while the process is signalled thousands of times.
func probeSignals(_ backend: any IOBackend) throws(SocketError) {
    var action = sigaction()
    action.__sigaction_handler.sa_handler = { _ in }
    sigemptyset(&action.sa_mask)
    action.sa_flags = 0 // no SA_RESTART: every wait it hits returns EINTR
    sigaction(SIGUSR1, &action, nil)
    let p = try pair(backend)
    defer { for s in [p.client, p.server, p.listener] { try? s.close() } }
    let stop = Atomic<Bool>(false)
    let signaller = spawn {
        while !stop.load(ordering: .acquiring) {
            kill(getpid(), SIGUSR1)
            sched_yield()
        }
    }
    let server = p.server
    let echo = spawn {
        while let d = try? server.recv(timeout: .seconds(10)) { _ = try? server.send(d, timeout: .seconds(10)) }
    }
    for round in 0..<2000 {
        let data = [UInt8(truncatingIfNeeded: round), UInt8(truncatingIfNeeded: round >> 8)]
        try p.client.send(data, timeout: .seconds(10))
        guard try p.client.recv(length: 2, timeout: .seconds(10)) == data else { fail("round \(round): wrong echo") }
    }
    stop.store(true, ordering: .releasing)
    signaller()
    try p.client.close()
    echo()
    ok("2000 echo rounds under a stream of signals")
}

/// sendfile to a peer that reset the connection: an error (EPIPE or ECONNRESET), and the process
/// lives. sendfile(2) has no MSG_NOSIGNAL and raises SIGPIPE, whose default action (this process
/// keeps it) ends the process.
func probeSendfileToResetPeer(_ backend: any IOBackend) throws(SocketError) {
    let p = try pair(backend)
    defer { for s in [p.client, p.listener] { try? s.close() } }
    try p.server.close()
    // Sends (MSG_NOSIGNAL) until the peer's reset shows: the next write then raises SIGPIPE.
    var sends = 0
    while sends < 1000 {
        do { try p.client.send([1], timeout: .seconds(10)) } catch { break }
        sends += 1
    }
    check(sends < 1000, "the peer's reset shows to a send")
    let path = "/proc/self/exe"
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    check(fd >= 0, "opened \(path)")
    defer { close(fd) }
    for round in 0..<3 {
        do {
            _ = try p.client.sendfile(FileDescriptor(rawValue: fd), count: 65536, timeout: .seconds(10))
            fail("round \(round): sendfile to a reset peer succeeded")
        } catch {
            check(error == .posix(EPIPE) || error == .posix(ECONNRESET),
                  "round \(round): sendfile to a reset peer fails with \(error.reason), the process lives")
        }
    }
}

/// Wake-ups of a backend's thread that is falling asleep are never lost: a stop, work handed to
/// it and an earlier timer, each arriving while the thread decides to wait in the kernel with
/// nothing else to do (no I/O would ever wake it: a lost wake-up hangs, and the alarm fails
/// the probe).
func probeWakeups(_ backend: any IOBackend, _ backendName: String) throws(SocketError) {
    // A backend stopped while its thread goes to sleep in the kernel (a receive that waits on
    // another thread keeps it polling there).
    // Once stopped and dropped, its sockets are freed: the kernel gave back every reference its
    // SQEs held (a cancel's own CQE can come after the socket closed).
    for round in 0..<200 {
        weak var weakServer: Socket?
        do {
            let b = try makeBackend(backendName)
            let q = try pair(b)
            let server = q.server
            weakServer = server
            let reader = spawn { _ = try? server.recv(timeout: .seconds(50)) }
            waitFor("a receive to wait, round \(round)") { server.info().numReaders == 1 }
            b.shutdown()
            reader()
        }
        if weakServer != nil { fail("round \(round): a socket of a stopped backend was never freed") }
    }
    ok("200 backends stopped while their threads waited in the kernel, and freed")
    // Code handed to the thread from a thread that is not its own, one piece at a time, each
    // as the thread goes back to its wait in the kernel.
    let idle = try pair(backend)
    let idleServer = idle.server
    let reader = spawn { _ = try? idleServer.recv(timeout: .seconds(50)) }
    waitFor("a receive to wait") { idleServer.info().numReaders == 1 }
    // Four threads at once: one's code often comes just as the thread took the others' and
    // turns to the kernel again.
    let callers = (0..<4).map { t in
        spawn {
            for i in 0..<8000 {
                let ran = (try? backend.run { i + t }) ?? -1
                if ran != i + t { fail("run \(i) on thread \(t) gave \(ran)") }
            }
        }
    }
    for c in callers { c() }
    for s in [idle.client, idle.server, idle.listener] { try? s.close() }
    reader()
    ok("32,000 pieces of code handed to the backend thread in its kernel wait ran")
    // A timer earlier than any other, set while the thread goes to sleep.
    let p = try pair(backend)
    defer { for s in [p.client, p.server, p.listener] { try? s.close() } }
    let server = p.server
    for round in 0..<300 {
        let done = ProbeBox<String>()
        Task {
            do throws(SocketError) {
                _ = try await server.recv(timeout: .milliseconds(1))
                done.set("data")
            } catch {
                done.set("\(error.reason)")
            }
        }
        waitFor("the async receive's 1 ms timeout, round \(round)") { done.isSet }
        if done.value != "timeout" { fail("round \(round): \(done.value ?? "nil")") }
    }
    ok("300 async receives with 1 ms timeouts on an idle socket timed out")
}
