// Probes: checks of behaviour that, when wrong, traps or hangs (bad input, deinit and lock
// cascades, backends that stop, signals): each runs in a process of its own, bounded by
// alarm(2), so a regression fails one test instead of killing the test runner.
//
//   esock-stress probe <name> <backend>
//
// Prints `ok <what>` per check and exits 0; `FAIL <what>` and 1 when a check does not hold;
// dies by SIGALRM after 60 s when something hangs.
#if canImport(Glibc)
import Glibc
#endif
import CESockStress
import ESock
import Synchronization

/// Runs probe `name` on a new backend of kind `backendName`.
func probe(_ name: String, _ backendName: String) throws(SocketError) {
    alarm(60)
    // Line by line: what a probe printed before a trap is not lost in a buffer.
    esock_stress_line_buffered_stdout()
    let backend = try makeBackend(backendName)
    switch name {
    case "bad-input": try probeBadInput(backend)
    case "dropped-owner": try probeDroppedOwner(backend)
    case "predicates": try probePredicates(backend)
    case "lock-order": try probeLockOrder(backend)
    case "descriptor-race": try probeDescriptorRace(backend)
    case "shutdown": try probeShutdown(backend, backendName)
    case "signals": try probeSignals(backend)
    case "wakeups": try probeWakeups(backend, backendName)
    case "sendfile-reset": try probeSendfileToResetPeer(backend)
    case "broken-backend": try probeBrokenBackend(backendName)
    case "descriptor-exhaustion": try probeDescriptorExhaustion(backend)
    default:
        print("unknown probe \(name)")
        exit(2)
    }
    print("probe=\(name) backend=\(backendName) result=ok")
}

/// Records a check that held.
func ok(_ what: String) { print("ok \(what)") }

/// Fails the probe unless `condition`.
func check(_ condition: Bool, _ what: String) {
    if condition { ok(what) } else { fail(what) }
}

/// A connected TCP pair on loopback, and the listener that made it.
func pair(_ backend: any IOBackend) throws(SocketError) -> (listener: Socket, client: Socket, server: Socket) {
    let l = try Socket.open(.inet, .stream, .tcp, backend: backend)
    try l.bind(.loopback(port: 0))
    try l.listen()
    let c = try Socket.open(.inet, .stream, .tcp, backend: backend)
    try c.connect(l.sockname(), timeout: .seconds(5))
    let s = try l.accept(timeout: .seconds(5))
    return (l, c, s)
}

/// The error `body` throws, or nil.
func thrown<T>(_ body: () throws(SocketError) -> T) -> SocketError? {
    do {
        _ = try body()
        return nil
    } catch {
        return error
    }
}

/// Runs `body` on a new thread; the returned function waits for it.
func spawn(_ body: @escaping @Sendable () -> Void) -> () -> Void {
    final class Box: @unchecked Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    var t = pthread_t()
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    pthread_create(&t, nil, { raw in
        Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().body()
        return nil
    }, box)
    return { pthread_join(t, nil) }
}

/// Waits (yielding, at most 10 s) until `condition` holds; fails the probe otherwise.
func waitFor(_ what: String, _ condition: () -> Bool) {
    let deadline = ContinuousClock.now + .seconds(10)
    while !condition() {
        if ContinuousClock.now > deadline { fail("timed out waiting for \(what)") }
        sched_yield()
    }
}

/// This process's resident memory in bytes.
func residentBytes() -> Int {
    guard let f = fopen("/proc/self/statm", "r") else { return 0 }
    defer { fclose(f) }
    var size = 0, resident = 0
    withUnsafeMutablePointer(to: &size) { sp in
        withUnsafeMutablePointer(to: &resident) { rp in
            _ = withVaList([sp, rp]) { vfscanf(f, "%ld %ld", $0) }
        }
    }
    return resident * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// A value another thread or task sets once.
final class ProbeBox<T: Sendable>: Sendable {
    private let state = Locked<(set: Bool, value: T?)>((false, nil))
    func set(_ v: T?) { state.withLock { $0 = (true, v) } }
    var isSet: Bool { state.withLock { $0.set } }
    var value: T? { state.withLock { $0.value } }
}
