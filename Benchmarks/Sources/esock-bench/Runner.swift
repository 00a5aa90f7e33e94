// Runs one server against the load generator for one workload and samples the server from /proc.
import Foundation

/// The figures of one (server, workload) run.
struct Measurement: Codable, Sendable {
    var server: String
    var workload: String
    /// Which round of the run (1-based): each round measures every server once, in turn.
    var round: Int
    var ok: Bool
    var failure: String?
    var seconds: Double = 0
    var ops: Double = 0
    var opsPerSecond: Double = 0
    var bytes: Double = 0
    var bytesPerSecond: Double = 0
    var p50Microseconds: Double = 0
    var p99Microseconds: Double = 0
    var errors: Double = 0
    /// Server CPU time (user + system, all threads) during the measured window.
    var serverCPUSeconds: Double = 0
    /// Server CPU time per operation (round trip, connection, download, or 64 KiB of a stream).
    var serverCPUMicrosecondsPerOp: Double = 0
    /// Server CPU use during the window, 1.0 = one core busy.
    var serverCPUShare: Double = 0
    var serverThreads: Int = 0
    /// Server resident memory added per connection (idle-wave only).
    var serverBytesPerConnection: Double?

    /// The headline figure of the workload.
    func headline(_ kind: Headline) -> Double {
        kind == .opsPerSecond ? opsPerSecond : bytesPerSecond
    }
}

struct RunSettings: Sendable {
    var bin: String
    var seconds: Double
    var warmup: Double
    /// Samples per server and workload.
    var rounds: Int
    var file: String
    /// The 1 MiB file the http-file workload downloads.
    var httpFile: String
    /// The wrk script that prints the load generator's lines (MEASURE_START/END and the JSON).
    var wrkScript: String
    var serverCPU: Int
    var loadCPU: Int
}

enum Runner {
    static func run(_ server: ServerKind, _ workload: Workload, round: Int, _ s: RunSettings) -> Measurement {
        var m = Measurement(server: server.id, workload: workload.id, round: round, ok: false)
        do {
            try measure(server, workload, s, into: &m)
            m.ok = m.failure == nil
        } catch {
            m.failure = "\(error)"
        }
        return m
    }

    private static func measure(_ server: ServerKind, _ workload: Workload, _ s: RunSettings,
                                into m: inout Measurement) throws {
        var flags = ["--mode", workload.serverMode, "--port", "0"]
        if workload.serverMode == "sendfile" { flags += ["--file", s.file] }
        if workload.serverMode == "http" { flags += ["--file", s.httpFile] }
        if workload.serverMode == "source" || workload.serverMode == "http" { flags += ["--size", String(workload.size)] }
        let srv = try ChildProcess(server.command(s.bin, flags), cpu: s.serverCPU,
                                   environment: server.environment, name: server.id)
        defer { srv.terminate() }
        guard let ready = srv.readLine(within: 30), ready.hasPrefix("READY "),
              let port = Int(ready.dropFirst(6)) else {
            throw BenchError("\(server.id) did not print READY")
        }
        let rssReady = srv.residentBytes()

        let args: [String]
        if let path = workload.httpPath {
            // wrk has no warm-up: its whole run is measured (the script prints the lines below).
            guard access("/usr/bin/wrk", X_OK) == 0 else { throw BenchError("wrk is not installed (apt-get install wrk)") }
            args = ["/usr/bin/wrk", "--threads", "1", "--connections", String(workload.conns),
                    "--duration", "\(Int((s.seconds + s.warmup).rounded(.up)))s", "--script", s.wrkScript,
                    "http://127.0.0.1:\(port)\(path)"]
        } else {
            args = ["\(s.bin)/esock-loadgen", "--port", String(port), "--workload", workload.loadgenWorkload,
                    "--conns", String(workload.conns), "--size", String(workload.size),
                    "--seconds", String(s.seconds), "--warmup", String(s.warmup)] + workload.extraLoadgenFlags
        }
        let gen = try ChildProcess(args, cpu: s.loadCPU, name: workload.httpPath == nil ? "esock-loadgen" : "wrk")
        defer { gen.terminate() }

        // The server's CPU time at the window's start and end: per thread in nanoseconds, and for
        // the whole process in clock ticks (which also counts threads that ended meanwhile).
        var cpuStart: (threads: Double, ticks: Double)?
        var cpuEnd: (threads: Double, ticks: Double)?
        var json: String?
        let limit = s.seconds + s.warmup + 120
        let started = Clock.now
        while json == nil, Clock.now - started < limit {
            guard let line = gen.readLine(within: limit) else { break }
            if line == "MEASURE_START" {
                cpuStart = (srv.threadCPUSeconds(), srv.cpuSeconds())
            } else if line == "MEASURE_END" {
                cpuEnd = (srv.threadCPUSeconds(), srv.cpuSeconds())
                m.serverThreads = srv.threadCount()
            } else if line.hasPrefix("CONNECTED ") {
                let n = Double(line.dropFirst(10)) ?? 0
                if n > 0 { m.serverBytesPerConnection = Double(srv.residentBytes() - rssReady) / n }
                gen.writeLine("go")
            } else if line.hasPrefix("{") {
                json = line
            }
        }
        let status = gen.wait(within: 30)
        guard let json else {
            throw BenchError("load generator gave no result (exit \(status.map(String.init) ?? "none"))")
        }
        guard status == 0 else { throw BenchError("load generator exited \(status.map(String.init) ?? "none"): \(json)") }
        guard let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else {
            throw BenchError("bad JSON from load generator: \(json)")
        }
        func number(_ key: String) -> Double { (object[key] as? NSNumber)?.doubleValue ?? 0 }
        m.seconds = number("seconds")
        m.ops = number("ops")
        m.opsPerSecond = number("ops_per_sec")
        m.bytes = number("bytes")
        m.bytesPerSecond = number("bytes_per_sec")
        m.p50Microseconds = number("p50_us")
        m.p99Microseconds = number("p99_us")
        m.errors = number("errors")
        if let cpuStart, let cpuEnd {
            // The threads' nanoseconds, unless the ticks say more than two ticks more went: then
            // a thread that ended during the window used it, and the ticks count it.
            let threads = cpuEnd.threads - cpuStart.threads
            let ticks = cpuEnd.ticks - cpuStart.ticks
            let twoTicks = 2 / Double(sysconf(Int32(_SC_CLK_TCK)))
            m.serverCPUSeconds = ticks > threads + twoTicks ? ticks : threads
            let ops = workload.family == "stream" ? m.bytes / 65536 : m.ops
            if ops > 0 { m.serverCPUMicrosecondsPerOp = m.serverCPUSeconds / ops * 1e6 }
            if m.seconds > 0 { m.serverCPUShare = m.serverCPUSeconds / m.seconds }
        }
        if m.errors > 0 { m.failure = "load generator counted \(Int(m.errors)) errors" }

        if m.ops == 0 && m.bytes == 0 { m.failure = "nothing moved" }
    }
}
