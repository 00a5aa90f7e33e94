// esock-bench: ESock's main job. `esock-bench` (= `esock-bench run`) compares the select backend
// with the completion backend, against a C epoll server, a C io_uring server and SwiftNIO, on
// loopback, in rounds (every server once per round), and writes a table with each server's
// median and spread, the targets met or missed, results.json and chart.svg. `esock-bench serve` is the ESock server
// the run measures.
import ArgumentParser
import Foundation

@main
struct ESockBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "esock-bench",
        abstract: "Select vs completion throughput benchmark for ESock.",
        subcommands: [Run.self, Serve.self],
        defaultSubcommand: Run.self)
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the benchmark matrix and report (the default).")

    @Flag(help: "A short run: fewer workloads, 1 s windows, 2 rounds, 2,000 idle connections.")
    var quick = false

    @Option(help: "Measured seconds per run.")
    var seconds: Double?

    @Option(help: "Warm-up seconds per run.")
    var warmup: Double?

    @Option(help: "Samples per server and workload; each round runs every server once, in turn, so that a slow patch of the machine hits them all (default 3; 2 with --quick). The report gives the median and the min-max.")
    var rounds: Int?

    @Option(help: "Comma-separated server ids (\(ServerKind.defaultIDs.joined(separator: ",")), esock-select-harvester, esock-completion-harvester).")
    var servers: String?

    @Option(help: "Comma-separated workload ids or families (echo, stream, accept, sendfile, http, idle).")
    var workloads: String?

    @Option(help: "Folder for results.json and chart.svg (default: Benchmarks/results).")
    var out: String?

    @Option(help: "Size of the sendfile workload's file in MiB.")
    var sendfileMiB: Int?

    @Option(help: "Connections held by the idle-wave workload (default 10,000; 2,000 with --quick).")
    var idleConnections: Int?

    @Option(help: "CPU the servers are pinned to.")
    var serverCPU = 0

    @Option(help: "CPU the load generator is pinned to.")
    var loadCPU = 1

    func validate() throws {
        if let rounds, !(1...100).contains(rounds) { throw ValidationError("--rounds must be 1 to 100") }
    }

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        let layout = try BuildLayout.locate()

        let sendfileBytes = (sendfileMiB ?? (quick ? 64 : 256)) << 20
        let file = try makeFile(bytes: sendfileBytes)
        var matrix = Workload.matrix(quick: quick, sendfileBytes: sendfileBytes,
                                     idleConnections: idleConnections ?? (quick ? 2000 : 10000))
        if let workloads {
            let wanted = Set(workloads.split(separator: ",").map(String.init))
            matrix = matrix.filter { wanted.contains($0.id) || wanted.contains($0.family) }
        }
        let all = ServerKind.all(selfPath: layout.executable)
        let ids = servers.map { $0.split(separator: ",").map(String.init) } ?? ServerKind.defaultIDs
        let chosen = try ids.map { id in
            guard let s = all.first(where: { $0.id == id }) else { throw ValidationError("unknown server \(id)") }
            return s
        }
        guard !matrix.isEmpty, !chosen.isEmpty else { throw ValidationError("nothing to run") }
        try layout.buildSiblings(for: chosen, matrix)

        let settings = RunSettings(bin: layout.binFolder, seconds: seconds ?? (quick ? 1 : 3),
                                   warmup: warmup ?? (quick ? 0.5 : 1), rounds: rounds ?? (quick ? 2 : 3),
                                   file: file, httpFile: try makeFile(bytes: 1 << 20), wrkScript: try writeWrkScript(),
                                   serverCPU: serverCPU, loadCPU: loadCPU)
        let machine = MachineInfo.current()
        print("esock-bench: \(chosen.count) servers × \(matrix.count) workloads × \(settings.rounds) rounds, "
              + "\(settings.seconds) s each; \(machine.cpuModel), \(machine.cpus) CPUs, Linux \(machine.kernel)")
        print("servers pinned to CPU \(serverCPU), load generator to CPU \(loadCPU); load average \(machine.loadAverage)")
        var results: [Measurement] = []
        for w in matrix {
            // The servers that run this workload (only the HTTP example speaks HTTP).
            let runners = chosen.filter { $0.runs(w) }
            for round in 1...settings.rounds {
                // Every round runs each server once; odd rounds in the given order, even ones
                // reversed, so that no server always runs right after the same neighbour.
                for s in round % 2 == 1 ? runners : runners.reversed() {
                    let m = Runner.run(s, w, round: round, settings)
                    let figure = "\(thousands(w.shown(m.headline(w.headline)))) \(w.unit)"
                    print("  \(w.id.padding(toLength: 16, withPad: " ", startingAt: 0)) "
                          + "round \(round)/\(settings.rounds)  "
                          + "\(s.id.padding(toLength: 28, withPad: " ", startingAt: 0)) "
                          + (m.ok ? figure : "FAILED: \(m.failure ?? "?")"))
                    flushOutput()
                    results.append(m)
                }
            }
        }
        let report = Report(workloads: matrix, servers: chosen, results: results, machine: machine, settings: settings,
                            loadAverageAtEnd: MachineInfo.currentLoadAverage())
        print(report.table())
        print(report.targetText())
        let folder = out ?? layout.packageFolder + "/results"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try report.json().write(to: URL(fileURLWithPath: folder + "/results.json"))
        try report.svg().write(toFile: folder + "/chart.svg", atomically: true, encoding: .utf8)
        print("wrote \(folder)/results.json and \(folder)/chart.svg")
        if results.contains(where: { !$0.ok }) { throw ExitCode(1) }
    }

    /// A file of `bytes` bytes for the sendfile and http-file workloads, made once and reused.
    private func makeFile(bytes: Int) throws -> String {
        let path = NSTemporaryDirectory() + "esock-bench-sendfile-\(bytes).bin"
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size == bytes {
            return path
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw BenchError("cannot create \(path)") }
        defer { close(fd) }
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        for i in chunk.indices { chunk[i] = UInt8(truncatingIfNeeded: i &* 31 &+ i >> 8) }
        var left = bytes
        while left > 0 {
            let n = chunk.withUnsafeBytes { write(fd, $0.baseAddress, min(left, $0.count)) }
            guard n > 0 else { throw BenchError("cannot write \(path)") }
            left -= n
        }
        return path
    }

    /// The wrk script that makes wrk print what esock-loadgen prints (Benchmarks/CONTRACT.md):
    /// MEASURE_START when its thread starts, then at the end MEASURE_END and the JSON line.
    private func writeWrkScript() throws -> String {
        let path = NSTemporaryDirectory() + "esock-bench-wrk.lua"
        let script = """
        -- esock-bench: wrk's figures as the lines esock-loadgen prints (Benchmarks/CONTRACT.md).
        init = function(args)
          io.write("MEASURE_START\\n")
          io.flush()
        end
        done = function(summary, latency, requests)
          local seconds = summary.duration / 1e6
          local e = summary.errors
          io.write("MEASURE_END\\n")
          io.write(string.format('{"workload":"wrk","seconds":%.6f,"ops":%d,"ops_per_sec":%.3f,"bytes":%d,'
            .. '"bytes_per_sec":%.3f,"p50_us":%.1f,"p99_us":%.1f,"errors":%d}\\n',
            seconds, summary.requests, summary.requests / seconds, summary.bytes, summary.bytes / seconds,
            latency:percentile(50), latency:percentile(99), e.connect + e.read + e.write + e.status + e.timeout))
          io.flush()
        end

        """
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run an ESock benchmark server (Benchmarks/CONTRACT.md).")

    @Option(help: "select or completion.") var backend: String
    @Option(help: "nowait (one thread, mailbox), blocking (a thread per connection) or async (a task per connection).") var api = "nowait"
    @Option(help: "echo, sink, source, accept, sendfile or http (the HTTP example; api nowait or async).") var mode: String
    @Option(help: "Port on 127.0.0.1 (0 = any).") var port = 0
    @Option(help: "File served in sendfile mode, and at /file in http mode.") var file: String?
    @Option(help: "Chunk size in source mode; the body of / in http mode.") var size = 65536

    func run() throws {
        try runESockServer(backend: backend, api: api, mode: mode, port: port, file: file, size: size)
    }
}

/// Where the benchmark's executables are, and how to build the ones not built yet.
struct BuildLayout {
    let executable: String
    let binFolder: String
    let packageFolder: String
    let configuration: String

    static let siblings = ["c-epoll-server", "c-uring-server", "esock-loadgen", "esock-nio-server"]

    static func locate() throws -> BuildLayout {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { throw BenchError("cannot read /proc/self/exe") }
        let exe = String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let bin = (exe as NSString).deletingLastPathComponent
        // .../<package>/.build/<triple>/<configuration>/esock-bench
        let parts = bin.split(separator: "/", omittingEmptySubsequences: false)
        guard let buildIndex = parts.lastIndex(where: { $0.hasPrefix(".build") }) else {
            throw BenchError("esock-bench must run from its SwiftPM build folder (swift run esock-bench)")
        }
        let package = parts[..<buildIndex].joined(separator: "/")
        return BuildLayout(executable: exe, binFolder: bin, packageFolder: package,
                           configuration: (bin as NSString).lastPathComponent)
    }

    /// Builds, with the same configuration, the executables of this run that `swift run
    /// esock-bench` does not build (SwiftPM builds one product per command): the chosen servers'
    /// that run at least one chosen workload, and the load generator unless every workload uses
    /// wrk. Every run asks: a build that is up to date takes about a second, and a server or load
    /// generator changed since the last run is rebuilt rather than measured stale.
    func buildSiblings(for servers: [ServerKind], _ workloads: [Workload]) throws {
        var needed = Set(servers.filter { s in workloads.contains { s.runs($0) } }.compactMap { s in
            s.command(binFolder, []).first.flatMap { $0.hasPrefix(binFolder + "/") ? String($0.dropFirst(binFolder.count + 1)) : nil }
        })
        if workloads.contains(where: { $0.httpPath == nil }) { needed.insert("esock-loadgen") }
        let products = Self.siblings.filter(needed.contains)
        guard !products.isEmpty else { return }
        if configuration != "release" {
            print("warning: esock-bench is a \(configuration) build; figures from debug builds mean little (use -c release)")
        }
        for product in products {
            // Quiet when up to date; the build's output as soon as it compiles something.
            var shown = !FileManager.default.isExecutableFile(atPath: "\(binFolder)/\(product)")
            if shown { print("building \(product) (\(configuration))…") }
            flushOutput()
            let build = try ChildProcess(["/usr/bin/env", "swift", "build", "-c", configuration,
                                          "--package-path", packageFolder, "--product", product],
                                         cpu: nil, name: "swift build")
            var held: [String] = []
            while let line = build.readLine(within: 1800) {
                if !shown, line.contains("Compiling") || line.contains("Linking") || line.contains("error") {
                    print("rebuilding \(product) (\(configuration))…")
                    shown = true
                    held.forEach { print("  " + $0) }
                }
                if shown { print("  " + line); flushOutput() } else { held.append(line) }
            }
            guard build.wait(within: 60) == 0 else {
                if !shown { held.forEach { print("  " + $0) } }
                throw BenchError("swift build --product \(product) failed")
            }
        }
    }
}
