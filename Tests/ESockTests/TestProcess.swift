@testable import ESock
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A program a test runs (curl, redis-server, an example executable). What it prints (standard
/// output and error) is read as it comes by a thread of its own, so a test can wait for the line
/// a server prints once it listens: its readiness, with no polling and no sleep. Waiting for the
/// program's end also takes a thread of its own, never one of the task pool, which the servers
/// under test may need.
final class TestProcess: Sendable {
    let argv: [String]
    let pid: pid_t
    private let output = OutputReader()
    /// Whether a wait has taken its exit status (the pid may then be another process's).
    private let reaped = Locked(false)

    /// Starts `argv` (its first element looked up in PATH).
    init(_ argv: [String]) throws {
        self.argv = argv
        // A socket pair, not a pipe: it is made close-on-exec at once (pipe2 is not in Glibc's
        // Swift overlay), so no program another test starts meanwhile inherits the write end
        // and holds the output open.
        var ends: [Int32] = [0, 0]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &ends) == 0)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, ends[1], 1)
        posix_spawn_file_actions_adddup2(&actions, ends[1], 2)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        // The child starts with no signal blocked and the default actions: the thread that
        // spawns it (one of the task pool's) blocks most signals, and a child inherits that
        // mask, so it would never see the SIGTERM that ends it.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), defaults = sigset_t()
        sigemptyset(&none)
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGPIPE, SIGHUP] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        var child = pid_t()
        let rc = posix_spawnp(&child, argv[0], &actions, &attributes, &cArgs, environ)
        close(ends[1])
        guard rc == 0 else {
            close(ends[0])
            throw SocketError(.invalid("cannot start \(argv[0]): \(String(cString: strerror(rc)))"))
        }
        pid = child
        output.start(reading: ends[0])
    }

    /// A process still running when its test lets go of it (the test failed before it ended
    /// it) is killed, so that no test leaves a program behind.
    deinit {
        if !reaped.withLock({ $0 }) && isRunning {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }

    /// Whether it still runs (waitid with WNOWAIT: it stays waitable).
    var isRunning: Bool {
        var info = siginfo_t()
        return waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info._sifields._sigchld.si_pid == 0
    }

    /// Waits until it has printed `text`; false when its output ended first (it exited).
    func printed(_ text: String) async -> Bool {
        await output.wait(for: text)
    }

    /// Waits for it to end and for the end of its output; its exit status, or 128 + the
    /// signal that ended it. Call once.
    func exitStatus() async -> Int32 {
        let pid = self.pid
        let status = await onOwnThread {
            var status: Int32 = 0
            guard waitpid(pid, &status, 0) == pid else { return Int32(-1) }
            return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        }
        reaped.withLock { $0 = true }
        _ = await output.wait(for: nil)
        return status
    }

    /// Ends it with SIGTERM and waits for it.
    func terminate() async {
        kill(pid, SIGTERM)
        _ = await exitStatus()
    }

    /// What it printed so far (all of it after ``exitStatus()``).
    func printedText() -> String {
        output.text
    }
}

/// Reads a program's output on a thread of its own until it ends, and wakes the tasks that
/// wait for a text in it.
private final class OutputReader: Sendable {
    private struct State {
        var bytes: [UInt8] = []
        var ended = false
        /// Who waits, for which text (nil: for the end).
        var waiters: [(text: String?, continuation: CheckedContinuation<Bool, Never>)] = []
    }
    private let state = Locked(State())

    /// Reads `fd` until its end, then closes it.
    func start(reading fd: Int32) {
        Thread { [self] in
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = read(fd, &chunk, chunk.count)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { close(fd) }
                let woken = state.withLock { state in
                    if n > 0 { state.bytes += chunk[..<n] } else { state.ended = true }
                    let text = String(decoding: state.bytes, as: UTF8.self), ended = state.ended
                    var woken: [(CheckedContinuation<Bool, Never>, Bool)] = []
                    state.waiters.removeAll { waiter in
                        let found = waiter.text.map { text.contains($0) } ?? ended
                        guard found || ended else { return false }
                        woken.append((waiter.continuation, found))
                        return true
                    }
                    return woken
                }
                for (continuation, found) in woken { continuation.resume(returning: found) }
                if n <= 0 { return }
            }
        }.start()
    }

    /// Waits until the output holds `text` (true) or ends without it (false); nil: until it ends.
    func wait(for text: String?) async -> Bool {
        await withCheckedContinuation { continuation in
            let answer: Bool? = state.withLock { state in
                let found = text.map { String(decoding: state.bytes, as: UTF8.self).contains($0) } ?? state.ended
                if found || state.ended { return found }
                state.waiters.append((text, continuation))
                return nil
            }
            if let answer { continuation.resume(returning: answer) }
        }
    }

    /// What was read so far.
    var text: String { state.withLock { String(decoding: $0.bytes, as: UTF8.self) } }
}

/// Runs `body` on a thread of its own and returns its result, without blocking the task pool.
/// `body` and what it holds are released before the caller resumes.
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        let box = BodyBox(body)
        Thread {
            let result = box.run()
            continuation.resume(returning: result)
        }.start()
    }
}

/// Starts `body` on a thread of its own at once, and returns a task that ends when it has run.
/// Unlike `Task { await onOwnThread(body) }`, the thread does not wait for a task of the pool to
/// start it: a pool held by other tests' blocking bodies (two threads on a 2-vCPU machine) once
/// kept an example server from starting for longer than its client's 30 s timeout.
/// The body is let go of before the task ends: what it holds (a server, its listener, a file it
/// serves) is released by then, so a descriptor check right after the task sees it closed (the
/// thread's own closure goes only when the thread exits, after the task may have ended).
func startedOnOwnThread(_ body: @escaping @Sendable () -> Void) -> Task<Void, Never> {
    let ended = ThreadEnd()
    let box = BodyBox(body)
    Thread {
        box.run()
        ended.set()
    }.start()
    return Task { await ended.wait() }
}

/// That a thread has ended, which a task can await.
private final class ThreadEnd: Sendable {
    private let state = Locked<(ended: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    func set() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.ended = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    func wait() async {
        await withCheckedContinuation { continuation in
            let ended = state.withLock { state -> Bool in
                if !state.ended { state.waiter = continuation }
                return state.ended
            }
            if ended { continuation.resume() }
        }
    }
}

/// Holds a body until it runs once, then lets go of it.
private final class BodyBox<T>: @unchecked Sendable {
    private var body: (@Sendable () -> T)?

    init(_ body: @escaping @Sendable () -> T) { self.body = body }

    func run() -> T {
        let result = body.map { $0() }
        body = nil
        return result!
    }
}

/// The path of `name` in PATH, or nil when it is not installed.
func findExecutable(_ name: String) -> String? {
    let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin"
    let dirs = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin"]
    return dirs.map { "\($0)/\(name)" }.first { access($0, X_OK) == 0 }
}

/// The path of an executable of this package, built with the tests next to the test binary.
func builtExecutable(_ name: String) throws -> String {
    var exe = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &exe, exe.count - 1)
    try #require(n > 0)
    let dir = String(decoding: exe[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self).split(separator: "/").dropLast()
    let path = "/" + dir.joined(separator: "/") + "/" + name
    try #require(access(path, X_OK) == 0, "\(path) is not built")
    return path
}

/// A loopback port nothing listens on right now (bound to port 0, then closed): for a program
/// that takes its port on the command line. Another process may take it in between, which
/// ``startServer(ready:_:)`` notices and recovers from.
func freeLoopbackPort() throws -> UInt16 {
    let s = try Socket.open(.inet, .stream, .tcp, backend: Backend.select.instance())
    defer { try? s.close() }
    try s.bind(.loopback(port: 0))
    return try #require(try s.sockname().port)
}

/// Starts a server program on a free loopback port (`command(port)`) and waits until it has
/// printed `ready` (the line it prints once it listens); when it exits first (the port was
/// taken meanwhile), tries another port, three times at most.
func startServer(ready: String, _ command: (UInt16) -> [String]) async throws -> (process: TestProcess, port: UInt16) {
    var failure = ""
    for _ in 0..<3 {
        let port = try freeLoopbackPort()
        let process = try TestProcess(command(port))
        if await process.printed(ready) { return (process, port) }
        _ = await process.exitStatus()
        failure = "\(process.argv.joined(separator: " ")) exited before it listened: \(process.printedText())"
    }
    throw SocketError(.invalid(failure))
}
