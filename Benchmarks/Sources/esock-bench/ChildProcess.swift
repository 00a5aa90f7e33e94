// Child processes of the benchmark run: spawned with posix_spawn (pinned with taskset), their
// stdout read line by line with a deadline, their CPU time and memory sampled from /proc.
#if canImport(Glibc)
import Glibc
#endif

/// A spawned process with a pipe on its stdout and, optionally, its stdin.
final class ChildProcess {
    let pid: pid_t
    let name: String
    private let stdoutFD: Int32
    private var stdinFD: Int32
    private var buffer: [UInt8] = []
    private var exited: Int32?

    /// Starts `argv` pinned to `cpu` (through taskset), with `environment` added to ours.
    init(_ argv: [String], cpu: Int?, environment: [String: String] = [:], name: String) throws {
        self.name = name
        let full = (cpu.map { ["/usr/bin/taskset", "-c", String($0)] } ?? []) + argv
        var out: [Int32] = [0, 0]
        var inp: [Int32] = [0, 0]
        guard pipe(&out) == 0, pipe(&inp) == 0 else {
            throw BenchError("pipe failed: \(String(cString: strerror(errno)))")
        }
        // Our ends must not leak into the child (nor into later children).
        for fd in out + inp { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, out[1], 1)
        posix_spawn_file_actions_adddup2(&actions, inp[0], 0)

        var env: [String] = []
        var i = 0
        while let entry = environ[i] {
            let text = String(cString: entry)
            let key = String(text.prefix { $0 != "=" })
            if environment[key] == nil { env.append(text) }
            i += 1
        }
        for (k, v) in environment { env.append("\(k)=\(v)") }

        var pid: pid_t = 0
        let rc = withCStrings(full) { argvC in
            withCStrings(env) { envC in
                posix_spawn(&pid, full[0], &actions, nil, argvC, envC)
            }
        }
        close(out[1])
        close(inp[0])
        guard rc == 0 else {
            close(out[0])
            close(inp[1])
            throw BenchError("cannot start \(full.joined(separator: " ")): \(String(cString: strerror(rc)))")
        }
        self.pid = pid
        self.stdoutFD = out[0]
        self.stdinFD = inp[1]
    }

    deinit {
        terminate()
        close(stdoutFD)
        if stdinFD >= 0 { close(stdinFD) }
    }

    /// The next line of stdout, or nil at EOF or when `seconds` pass first.
    func readLine(within seconds: Double) -> String? {
        let deadline = Clock.now + seconds
        while true {
            if let nl = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[..<nl], as: UTF8.self)
                buffer.removeSubrange(...nl)
                return line
            }
            let left = deadline - Clock.now
            guard left > 0 else { return nil }
            var p = pollfd(fd: stdoutFD, events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, Int32(min(left * 1000, 1000)) + 1)
            if ready < 0 && errno == EINTR { continue }
            if ready <= 0 { continue }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = read(stdoutFD, &chunk, chunk.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return nil }
            buffer.append(contentsOf: chunk[..<n])
        }
    }

    /// Writes one line to the child's stdin.
    func writeLine(_ text: String) {
        let bytes = Array((text + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(stdinFD, $0.baseAddress, $0.count) }
    }

    /// CPU time (user + system, all threads) in seconds, from /proc/<pid>/stat.
    func cpuSeconds() -> Double {
        guard let stat = readProcFile("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return 0 }
        // Fields after the command name: state is field 3; utime and stime are fields 14 and 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// CPU time of the process's threads now alive, in seconds, from each thread's
    /// /proc/<pid>/task/<tid>/schedstat (its time on a CPU, in nanoseconds). `cpuSeconds()`
    /// counts in clock ticks (10 ms), which over a short measured window (the quick run's idle
    /// wave: 24,000 round trips, 0.42 µs per round trip per tick) is a fifth of the figure; this
    /// misses what a thread that ended during the window used (see `Runner`).
    func threadCPUSeconds() -> Double {
        guard let dir = opendir("/proc/\(pid)/task") else { return 0 }
        defer { closedir(dir) }
        var nanoseconds: UInt64 = 0
        while let entry = readdir(dir) {
            let tid = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard tid.first?.isNumber == true, let stat = readProcFile("/proc/\(pid)/task/\(tid)/schedstat"),
                  let first = stat.split(separator: " ").first, let onCPU = UInt64(first) else { continue }
            nanoseconds &+= onCPU
        }
        return Double(nanoseconds) / 1e9
    }

    /// Resident set size in bytes, from /proc/<pid>/status (VmRSS).
    func residentBytes() -> Int {
        guard let status = readProcFile("/proc/\(pid)/status") else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let kb = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
            return kb * 1024
        }
        return 0
    }

    /// Number of threads, from /proc/<pid>/status.
    func threadCount() -> Int {
        guard let status = readProcFile("/proc/\(pid)/status") else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("Threads:") {
            return line.split(separator: "\t").last.flatMap { Int($0.trimmingSpaces) } ?? 0
        }
        return 0
    }

    /// Waits for the process to exit; returns its exit status (128+signal when killed), nil on timeout.
    @discardableResult
    func wait(within seconds: Double) -> Int32? {
        if let exited { return exited }
        let deadline = Clock.now + seconds
        while Clock.now < deadline {
            var status: Int32 = 0
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid {
                let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
                exited = code
                return code
            }
            if r < 0 { exited = -1; return -1 }
            usleep(5_000)
        }
        return nil
    }

    /// SIGTERM, then SIGKILL if it has not exited within two seconds.
    func terminate() {
        guard exited == nil else { return }
        kill(pid, SIGTERM)
        if wait(within: 2) == nil {
            kill(pid, SIGKILL)
            wait(within: 2)
        }
    }
}

/// Monotonic seconds.
enum Clock {
    static var now: Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

func readProcFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = read(fd, &chunk, chunk.count)
        if n <= 0 { break }
        bytes.append(contentsOf: chunk[..<n])
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// Calls `body` with a NULL-terminated C array of the strings.
func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { pointers.forEach { free($0) } }
    return body(pointers)
}

extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return s
    }
}

/// Flushes stdout (fflush(NULL) flushes every stream; naming the C global `stdout` is refused by
/// Swift 6's concurrency checking).
func flushOutput() {
    fflush(nil)
}
