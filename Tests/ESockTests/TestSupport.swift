@testable import ESock
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The backends every behavioural test runs on.
///
/// `select` and `completion` are the backends as shipped; `select-thread` runs the select
/// backend's epoll-thread-only model (kept for measurement), and `completion-plain` the ring
/// without `SINGLE_ISSUER | DEFER_TASKRUN` and without multishot receive and accept (what
/// kernels before 6.0/6.1 get: an SQE per receive and per accept), and with sends on the ring
/// owner's thread tried with send(2) first (the configuration's other send path), so that
/// every variant is known to behave the same.
enum Backend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case select, completion
    case selectThread = "select-thread", completionPlain = "completion-plain"

    var testDescription: String { rawValue }

    /// The backend's name as it reports it.
    var name: String { model.rawValue }

    var model: IOModel {
        switch self {
        case .select, .selectThread: return .select
        case .completion, .completionPlain: return .completion
        }
    }

    private static let instances = Locked<[Backend: any IOBackend]>([:])

    /// Why this machine cannot run this backend (the completion backends need io_uring); nil
    /// when it can.
    var unavailability: String? {
        model == .completion ? Machine.missing(.ioUring).map { "\(rawValue) backend: \($0)" } : nil
    }

    /// Skips the running test case, with the reason, when this machine cannot run this backend.
    func requireAvailable(sourceLocation: SourceLocation = #_sourceLocation) throws {
        if let reason = unavailability { try Machine.skip(reason, sourceLocation: sourceLocation) }
    }

    /// One shared instance per kind for the whole test run. Where the machine cannot run this
    /// backend, the running test case is skipped with the reason: call it on the test's task
    /// before any check that could fail (not inside `#expect(throws:)` nor on another thread).
    func instance(sourceLocation: SourceLocation = #_sourceLocation) throws -> any IOBackend {
        try requireAvailable(sourceLocation: sourceLocation)
        return try shared()
    }

    /// The shared instance, made on first use.
    func shared() throws -> any IOBackend {
        try Self.instances.withLock { table in
            if let b = table[self] { return b }
            let b = try make()
            table[self] = b
            return b
        }
    }

    /// A new instance of this kind, for a test that must not share it (shut it down at the end).
    func make() throws -> any IOBackend {
        var plain = CompletionBackend.Configuration()
        plain.deferTaskRun = false
        plain.multishot = false
        plain.sendsThroughRing = false
        return switch self {
        case .select: try SelectBackend()
        case .completion: try CompletionBackend()
        case .selectThread: try SelectBackend(callersLead: false)
        case .completionPlain: try CompletionBackend(configuration: plain)
        }
    }
}

/// A connected TCP pair on loopback, with the listener that made it.
struct Pair {
    let listener: Socket
    let client: Socket
    let server: Socket

    func closeAll() {
        for s in [client, server, listener] { try? s.close() }
    }
}

func listener(on backend: Backend, _ domain: Domain = .inet) throws -> Socket {
    try listener(on: backend.instance(), domain)
}

/// A TCP listener on loopback (any port), in the network namespace at `netns` if given.
func listener(on io: any IOBackend, _ domain: Domain = .inet, netns: String? = nil) throws -> Socket {
    let l = try openStream(on: io, domain, netns: netns)
    try l.bind(loopbackAnyPort(domain))
    try l.listen(backlog: 1024)
    return l
}

/// Loopback of `domain`, any port (the kernel picks one at bind).
func loopbackAnyPort(_ domain: Domain) -> SocketAddress {
    domain == .inet ? .loopback(port: 0) : .inet6(.loopback, port: 0)
}

/// A socket bound to loopback (any port) that holds its address for a test, after `prepare`;
/// closed again if the bind or `prepare` fails.
private func holdingLoopback(_ domain: Domain, _ type: SocketType, _ proto: SocketProtocol, on io: any IOBackend,
                             prepare: (Socket, SocketAddress) throws -> Void = { _, _ in }) throws -> (holder: Socket, address: SocketAddress) {
    let holder = try Socket.open(domain, type, proto, backend: io)
    do {
        try holder.bind(loopbackAnyPort(domain))
        let address = try holder.sockname()
        try prepare(holder, address)
        return (holder, address)
    } catch {
        try? holder.close()
        throw error
    }
}

/// An address on loopback that refuses connections, and the socket that keeps it so: a TCP
/// socket bound to a port and not listening. Close the socket when done. (A closed listener's
/// port is no such address in a parallel run: another test may listen on it by then, or a
/// connect to it may be given the same port as its own and connect to itself.)
func refusingAddress(on io: any IOBackend) throws -> (holder: Socket, address: SocketAddress) {
    try holdingLoopback(.inet, .stream, .tcp, on: io)
}

/// A loopback UDP address no datagram is delivered to, and the socket that keeps it so: a UDP
/// socket bound to a port and connected to its own address, so that the kernel gives it only
/// datagrams sent from that very address; one from any other port finds no socket and draws an
/// ICMP port unreachable. Close the socket when done. (A closed socket's port may be bound again
/// by a test running alongside, which would then receive the datagram.)
func unreachableDatagramAddress(_ domain: Domain = .inet, on io: any IOBackend) throws -> (holder: Socket, address: SocketAddress) {
    try holdingLoopback(domain, .dgram, .udp, on: io) { holder, address in
        try holder.connect(address, timeout: .seconds(5))
    }
}

func connectedPair(on backend: Backend, _ domain: Domain = .inet) throws -> Pair {
    try connectedPair(on: backend.instance(), domain)
}

/// A connected TCP pair on loopback, in the network namespace at `netns` if given; the connect
/// and the accept wait at most `timeout`.
func connectedPair(on io: any IOBackend, _ domain: Domain = .inet, netns: String? = nil,
                   timeout: Timeout = .seconds(5)) throws -> Pair {
    let l = try listener(on: io, domain, netns: netns)
    let c = try openStream(on: io, domain, netns: netns)
    try c.connect(l.sockname(), timeout: timeout)
    let s = try l.accept(timeout: timeout)
    return Pair(listener: l, client: c, server: s)
}

private func openStream(on io: any IOBackend, _ domain: Domain, netns: String?) throws -> Socket {
    guard let netns else { return try Socket.open(domain, .stream, .tcp, backend: io) }
    return try Socket.open(domain, .stream, .tcp, netns: netns, backend: io)
}

/// Bytes 0, 1, 2, ... of the given length, wrapping at 251 (a prime, so runs don't align).
func pattern(_ n: Int, seed: Int = 0) -> [UInt8] {
    let block = (0..<(251 * 64)).map { UInt8(truncatingIfNeeded: ($0 + seed) % 251) }
    var out: [UInt8] = []
    out.reserveCapacity(n)
    while out.count < n { out += block.prefix(n - out.count) }
    return out
}

/// Waits for the next message about `handle`, failing the test after `timeout` (five seconds).
func expectMessage(_ mailbox: Mailbox, _ handle: Handle?, timeout: Timeout = .seconds(5),
                   sourceLocation: SourceLocation = #_sourceLocation) throws -> SocketMessage {
    let h = try #require(handle, sourceLocation: sourceLocation)
    return try #require(mailbox.receive(handle: h, timeout: timeout), "no message for \(h)", sourceLocation: sourceLocation)
}

/// Receives via the nowait path until `length` bytes came (0: whatever comes first), following whichever model the backend has.
func nowaitRecv(_ s: Socket, _ mailbox: Mailbox, length: Int) throws -> [UInt8] {
    var data: [UInt8] = []
    while true {
        let want = length == 0 ? 0 : length - data.count
        switch try s.recv(length: want, nowait: mailbox) {
        case .done(let d): return data + d
        case .select(let info, let partial):
            #expect(s.ioBackend.model == .select)
            data += partial ?? []
            guard case .select(let ms, let h) = try expectMessage(mailbox, info.handle) else {
                Issue.record("expected a select message"); return data
            }
            #expect(ms == s && h == info.handle)
        case .completion(let info):
            #expect(s.ioBackend.model == .completion)
            let m = try expectMessage(mailbox, info.handle)
            guard case .completion(let ms, _, .received(let d)) = m else {
                Issue.record("expected a completion message with data, got \(m)"); return data
            }
            #expect(ms == s)
            return data + d
        }
    }
}

/// Receives exactly `n` bytes with blocking calls.
func recvAll(_ s: Socket, _ n: Int) throws -> [UInt8] {
    try s.recv(length: n, timeout: .seconds(10))
}

/// Runs `body` on a new thread; the returned function waits for it and rethrows its error.
func onThread(_ body: @escaping @Sendable () throws -> Void) -> () throws -> Void {
    let result = Locked<Result<Void, any Error>?>(nil)
    let done = Latch()
    let t = Thread { result.withLock { $0 = Result { try body() } }; done.set() }
    t.start()
    return {
        done.wait()
        try result.withLock { $0 }!.get()
    }
}

/// A one-shot event for tests.
final class Latch: @unchecked Sendable {
    private let m = Locked<Bool>(false)
    func set() { m.withLock { $0 = true } }
    func wait() {
        while !m.withLock({ $0 }) { sched_yield() }
    }
}

/// A minimal thread for tests (Foundation-free).
final class Thread: @unchecked Sendable {
    private let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    func start() {
        let box = Unmanaged.passRetained(self).toOpaque()
        var t = pthread_t()
        pthread_create(&t, nil, { raw in
            let me = Unmanaged<Thread>.fromOpaque(raw!).takeRetainedValue()
            me.body()
            return nil
        }, box)
        pthread_detach(t)
    }
}

/// The number of open descriptors of this process.
func openDescriptorCount() -> Int {
    guard let dir = opendir("/proc/self/fd") else { return -1 }
    defer { closedir(dir) }
    var n = 0
    while readdir(dir) != nil { n += 1 }
    return n - 3 // ".", ".." and the directory's own descriptor
}

/// Runs a program to its end; its exit status, or -1 when it could not start.
func runProgram(_ argv: [String]) -> Int32 {
    var pid = pid_t()
    var cArgs = argv.map { strdup($0) } + [nil]
    defer { for p in cArgs { free(p) } }
    guard posix_spawnp(&pid, argv[0], nil, nil, &cArgs, environ) == 0 else { return -1 }
    var status: Int32 = 0
    guard waitpid(pid, &status, 0) == pid else { return -1 }
    return (status & 0x7f) == 0 ? (status >> 8) & 0xff : -1
}

/// A network namespace made for one test (`ip netns add`); `delete()` removes it. Nil when this
/// process cannot make one (tests that make one carry `.requires(.netns)`, whose probe,
/// `Machine`, says why: not root, no ip(8)).
struct TestNamespace {
    let name: String
    /// The path `Socket.open(..., netns:)` takes.
    var path: String { "/var/run/netns/\(name)" }

    init?(_ name: String) {
        guard runProgram(["ip", "netns", "add", name]) == 0 else { return nil }
        self.name = name
    }

    func delete() { _ = runProgram(["ip", "netns", "delete", name]) }
}

/// What a socket and its backend say after a transfer stalled (to tell a lost wake-up, data
/// waiting unread or room to send, from a peer that stopped).
func stallReport(_ s: Socket) -> String {
    dumpThreadsOnce()
    let nread = (try? s.ioctl(.nread)).map { "\($0)" } ?? "?"
    let nwrite = (try? s.ioctl(.nwrite)).map { "\($0)" } ?? "?"
    let (reader, writer) = s.state.withLock { st in
        (st[current: .readers].map { "\($0.kind) \($0.phase) waiting \(st[waiting: .readers].count)" } ?? "none",
         st[current: .writers].map { "\($0.kind) \($0.phase) waiting \(st[waiting: .writers].count), its caller: \($0.caller)" } ?? "none")
    }
    return "[unread \(nread), unsent \(nwrite); reader \(reader); writer \(writer); " +
        "counters \(s.counters); backend \(s.backend.info().counters)]"
}

private let dumped = Locked(false)
/// With ESOCK_TEST_STALL_DUMP=1, the first stall report also writes every thread's stack (gdb)
/// to /tmp/esock-stall-<pid>.txt: what held the task pool's threads when a task was not resumed.
func dumpThreadsOnce() {
    guard getenv("ESOCK_TEST_STALL_DUMP").map({ String(cString: $0) == "1" }) == true,
          dumped.withLock({ d in defer { d = true }; return !d }) else { return }
    _ = system("gdb -p \(getpid()) -batch -ex 'thread apply all bt 30' > /tmp/esock-stall-\(getpid()).txt 2>&1")
}

/// A task executor with one thread of its own, for the async tests whose peers wait on another
/// thread with a deadline: their tasks then never wait for the task pool, whose two threads (on
/// a 2-vCPU machine) other tests' long synchronous bodies can hold for minutes under a sanitizer
/// (seen: an async sendv's select message posted, its task not resumed for 300 s).
///
/// As a serial executor (`role` `.actor`, an actor's `unownedExecutor`), it tells without
/// trapping whether code runs on it (``isCurrent``).
final class ThreadExecutor: TaskExecutor, SerialExecutor, @unchecked Sendable {
    /// What the executor's jobs run as: a task executor's (a task's preference) or an actor's.
    enum Role { case task, actor }
    private let role: Role
    // Guarded by `mutex`.
    private var queue: [UnownedJob] = []
    private var stopping = false
    private var mutex = pthread_mutex_t()
    private var cond = pthread_cond_t()
    private var thread = pthread_t()

    init(role: Role = .task) {
        self.role = role
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&cond, nil)
        let box = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&thread, nil, { raw in
            Unmanaged<ThreadExecutor>.fromOpaque(raw!).takeRetainedValue().loop()
            return nil
        }, box)
        pthread_detach(thread)
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        pthread_mutex_lock(&mutex)
        queue.append(job)
        pthread_cond_signal(&cond)
        pthread_mutex_unlock(&mutex)
    }

    private func loop() {
        while true {
            pthread_mutex_lock(&mutex)
            while queue.isEmpty && !stopping { pthread_cond_wait(&cond, &mutex) }
            let batch = queue
            queue.removeAll()
            let done = batch.isEmpty && stopping
            pthread_mutex_unlock(&mutex)
            if done { return }
            for job in batch {
                switch role {
                case .task: job.runSynchronously(on: asUnownedTaskExecutor())
                case .actor: job.runSynchronously(on: asUnownedSerialExecutor())
                }
            }
        }
    }

    /// Whether the caller runs on this executor's thread.
    var isCurrent: Bool { pthread_equal(thread, pthread_self()) != 0 }

    /// Ends the thread once the jobs queued so far ran (not joined: this may run on it).
    func shutdown() {
        pthread_mutex_lock(&mutex)
        stopping = true
        pthread_cond_signal(&cond)
        pthread_mutex_unlock(&mutex)
    }
}

/// Runs `body` with its task on a ``ThreadExecutor`` of its own.
func onOwnExecutor<T: Sendable>(_ body: (ThreadExecutor) async throws -> T) async throws -> T {
    let executor = ThreadExecutor()
    defer { executor.shutdown() }
    return try await withTaskExecutorPreference(executor) { try await body(executor) }
}

/// The bytes malloc gave the smallest of `objects` (malloc_usable_size, glibc's or a sanitizer's,
/// through dlsym: the Glibc module does not export <malloc.h>); nil, with an issue recorded,
/// where the process has none. Ask with several objects of one class alive together: malloc
/// can hand one request a free chunk up to 31 bytes larger than its own when the rest is too
/// small to split off (a full test run's heap did, for one object in several), and the
/// smallest of several has the request's own chunk.
func mallocUsableSize(ofSmallest objects: [AnyObject], sourceLocation: SourceLocation = #_sourceLocation) -> Int? {
    typealias UsableSize = @convention(c) (UnsafeMutableRawPointer?) -> Int
    guard let symbol = dlsym(nil, "malloc_usable_size") else {
        Issue.record("no malloc_usable_size in this process", sourceLocation: sourceLocation)
        return nil
    }
    let usableSize = unsafeBitCast(symbol, to: UsableSize.self)
    return objects.map { usableSize(Unmanaged.passUnretained($0).toOpaque()) }.min()
}

/// Holds the backend's executor thread (the completion backend's ring owner) busy until
/// ``HeldOwner/letGo(once:_:)``.
func holdOwner(of io: any IOBackend) async throws -> HeldOwner {
    let holding = Locked(false)
    let release = Latch()
    let owner = Task(executorPreference: io.executor) {
        holding.withLock { $0 = true }
        release.wait()
    }
    try await eventually("the owner thread is held") { holding.withLock { $0 } }
    return HeldOwner(release: release, owner: owner)
}

struct HeldOwner {
    let release: Latch
    let owner: Task<Void, Never>

    /// Lets the owner go once `condition` holds (at most 60 s), checked on a thread of its
    /// own: a cancel waiting for the held owner blocks a thread of the task pool, so this
    /// wait must not need one.
    func letGo(once what: Comment, _ condition: @escaping @Sendable () -> Bool) async throws {
        let met = Locked(false)
        let releaser = onThread { [release] in
            let deadline = ContinuousClock.now + .seconds(60)
            while !condition() && ContinuousClock.now < deadline { sched_yield() }
            met.withLock { $0 = condition() }
            release.set()
        }
        try releaser()
        await owner.value
        #expect(met.withLock { $0 }, "timed out waiting: \(what)")
    }
}

/// `count` connected pairs on `io`, each server side served by a thread of its own in blocking
/// calls: it receives 2 bytes, `[i, round]` for pair `i`, and sends them back, `rounds` times.
/// `drive` runs once every thread has started (they are blocked, or about to be, in their first
/// receive) and sends each round to the clients; the threads are then joined, and any of them
/// that received something else throws.
func withBlockedReceivers(on io: any IOBackend, count: Int, rounds: Int,
                          _ drive: ([Pair]) throws -> Void) throws {
    var pairs: [Pair] = []
    defer { pairs.forEach { $0.closeAll() } }
    for _ in 0..<count { pairs.append(try connectedPair(on: io)) }
    let started = Locked(0)
    var joins: [() throws -> Void] = []
    for (i, pair) in pairs.enumerated() {
        let server = pair.server
        joins.append(onThread {
            started.withLock { $0 += 1 }
            for round in 0..<rounds {
                let got = try server.recv(length: 2, timeout: .seconds(60))
                guard got == [UInt8(truncatingIfNeeded: i), UInt8(truncatingIfNeeded: round)] else {
                    throw SocketError.invalid("thread \(i) round \(round) received \(got)")
                }
                try server.send(got)
            }
        })
    }
    while started.withLock({ $0 }) < count { sched_yield() }
    try drive(pairs)
    for join in joins { try join() }
}
