// What the benchmark runs: the servers under test (ESock on both backends with each API, and the
// C epoll, C io_uring and SwiftNIO baselines) and the workloads.

/// The I/O model a server uses; ESock figures are compared with the C server of the same model.
enum IOModel: String, Codable, Sendable {
    case select, completion, nio
}

/// One server under test.
struct ServerKind: Sendable {
    /// Stable identifier, used in JSON and on the command line (`--servers`).
    let id: String
    /// What a reader calls it: "C epoll", "ESock select · nowait".
    let name: String
    let model: IOModel
    /// ESock's API the server is written with (nowait, blocking, async; "nowait, harvester" for the
    /// harvester-only threading model); nil for the baselines.
    let api: String?
    /// True for the C servers and SwiftNIO, the figures everything is compared with.
    let isBaseline: Bool
    /// Extra environment for the process.
    let environment: [String: String]
    /// The command line, given the executables' folder and the contract's flags.
    let command: @Sendable (_ bin: String, _ flags: [String]) -> [String]
    /// Whether it serves the `http` mode: ESock's HTTP example, in its async and nowait forms.
    var servesHTTP = false

    /// Whether it runs `workload` (only the HTTP example speaks HTTP).
    func runs(_ workload: Workload) -> Bool {
        workload.serverMode != "http" || servesHTTP
    }

    /// The C server with the same I/O model (the limit ESock is held to).
    var cBaselineID: String? {
        switch model {
        case .select: return id == "c-epoll" ? nil : "c-epoll"
        case .completion: return id == "c-uring" ? nil : "c-uring"
        case .nio: return nil
        }
    }

    static func all(selfPath: String) -> [ServerKind] {
        func esock(_ backend: String, _ api: String, lead: Bool = true) -> ServerKind {
            let suffix = (api == "nowait" ? "" : "-\(api)") + (lead ? "" : "-harvester")
            let shownAPI = api + (lead ? "" : ", harvester")
            return ServerKind(
                id: "esock-\(backend)\(suffix)", name: "ESock \(backend) · \(shownAPI)", model: IOModel(rawValue: backend)!,
                api: shownAPI, isBaseline: false,
                environment: lead ? [:] : ["ESOCK_CALLERS_LEAD": "0"],
                command: { _, flags in [selfPath, "serve", "--backend", backend, "--api", api] + flags },
                servesHTTP: api != "blocking")
        }
        return [
            ServerKind(id: "c-epoll", name: "C epoll", model: .select, api: nil, isBaseline: true, environment: [:],
                       command: { bin, flags in ["\(bin)/c-epoll-server"] + flags }),
            ServerKind(id: "c-uring", name: "C io_uring", model: .completion, api: nil, isBaseline: true, environment: [:],
                       command: { bin, flags in ["\(bin)/c-uring-server"] + flags }),
            ServerKind(id: "nio", name: "SwiftNIO", model: .nio, api: nil, isBaseline: true, environment: [:],
                       command: { bin, flags in ["\(bin)/esock-nio-server"] + flags }),
            esock("select", "nowait"),
            esock("completion", "nowait"),
            esock("select", "blocking"),
            esock("completion", "blocking"),
            esock("select", "async"),
            esock("completion", "async"),
            esock("select", "nowait", lead: false),
            esock("completion", "nowait", lead: false),
        ]
    }

    /// Servers run unless `--servers` says otherwise (the harvester-only models are opt-in:
    /// they exist to back the threading decision in docs/architecture.md).
    static let defaultIDs = ["c-epoll", "c-uring", "nio", "esock-select", "esock-completion",
                             "esock-select-blocking", "esock-completion-blocking",
                             "esock-select-async", "esock-completion-async"]
}

/// What a workload's headline figure counts.
enum Headline: String, Codable, Sendable {
    case opsPerSecond = "ops/s"
    case bytesPerSecond = "bytes/s"
}

/// One workload configuration: a server mode and a load-generator command.
struct Workload: Sendable {
    let id: String
    let family: String
    let title: String
    let serverMode: String
    let loadgenWorkload: String
    let conns: Int
    let size: Int
    let headline: Headline
    var extraLoadgenFlags: [String] = []
    /// The path wrk requests; nil: the load comes from esock-loadgen.
    var httpPath: String?

    /// The unit of the headline figure as printed: MiB/s for streams and downloads, else what
    /// one operation is ("round trips/s", "connections/s", "requests/s").
    var unit: String {
        switch (headline, family) {
        case (.bytesPerSecond, _): return "MiB/s"
        case (.opsPerSecond, "accept"): return "connections/s"
        case (.opsPerSecond, "http"): return "requests/s"
        case (.opsPerSecond, _): return "round trips/s"
        }
    }

    /// The headline figure in `unit`.
    func shown(_ value: Double) -> Double {
        headline == .bytesPerSecond ? value / 1048576 : value
    }

    static func matrix(quick: Bool, sendfileBytes: Int, idleConnections: Int) -> [Workload] {
        var list: [Workload] = []
        let echoConns = quick ? [64, 512] : [1, 64, 512]
        let echoSizes = quick ? [64] : [64, 4096, 65536]
        for conns in echoConns {
            for size in echoSizes {
                list.append(Workload(id: "echo-\(conns)x\(size)", family: "echo",
                                     title: "echo \(conns) conns × \(byteText(size))",
                                     serverMode: "echo", loadgenWorkload: "echo", conns: conns, size: size,
                                     headline: .opsPerSecond))
            }
        }
        for conns in quick ? [1] : [1, 4] {
            list.append(Workload(id: "stream-send-\(conns)", family: "stream",
                                 title: "stream client→server \(conns) conn × 64 KiB sends",
                                 serverMode: "sink", loadgenWorkload: "stream-send", conns: conns, size: 65536,
                                 headline: .bytesPerSecond))
            list.append(Workload(id: "stream-recv-\(conns)", family: "stream",
                                 title: "stream server→client \(conns) conn × 64 KiB sends",
                                 serverMode: "source", loadgenWorkload: "stream-recv", conns: conns, size: 65536,
                                 headline: .bytesPerSecond))
        }
        list.append(Workload(id: "accept", family: "accept", title: "accept + close, 16 connects in flight",
                             serverMode: "accept", loadgenWorkload: "accept", conns: 1, size: 0,
                             headline: .opsPerSecond, extraLoadgenFlags: ["--inflight", "16"]))
        list.append(Workload(id: "sendfile", family: "sendfile", title: "sendfile \(byteText(sendfileBytes)) file, 1 client",
                             serverMode: "sendfile", loadgenWorkload: "sendfile", conns: 1, size: 0,
                             headline: .bytesPerSecond, extraLoadgenFlags: ["--expect", String(sendfileBytes)]))
        // HTTP/1.1 keep-alive through wrk (the HTTP example, async and nowait): a 1 KiB body, and
        // a 1 MiB file by sendfile.
        list.append(Workload(id: "http", family: "http", title: "HTTP keep-alive, 64 conns × GET 1 KiB (wrk)",
                             serverMode: "http", loadgenWorkload: "wrk", conns: 64, size: 1024,
                             headline: .opsPerSecond, httpPath: "/"))
        list.append(Workload(id: "http-file", family: "http", title: "HTTP keep-alive, 8 conns × GET 1 MiB file (wrk)",
                             serverMode: "http", loadgenWorkload: "wrk", conns: 8, size: 1024,
                             headline: .bytesPerSecond, httpPath: "/file"))
        // Ten waves through 10,000 connections (100,000 round trips); the quick run's 2,000
        // connections get twenty (40,000): three (6,000 round trips, some 50 ms) made windows
        // whose rounds spread by a factor of two and more (37,459-120,092 round trips/s for one
        // server in `WAVES=3 Benchmarks/ab.py idle-wave 2000 64 1 7 ...`).
        list.append(Workload(id: "idle-wave", family: "idle",
                             title: "\(thousands(Double(idleConnections))) idle conns, then 64 B echo waves",
                             serverMode: "echo", loadgenWorkload: "idle-wave", conns: idleConnections, size: 64,
                             headline: .opsPerSecond, extraLoadgenFlags: ["--waves", quick ? "20" : "10"]))
        return list
    }
}

func byteText(_ n: Int) -> String {
    if n >= 1 << 20 && n % (1 << 20) == 0 { return "\(n >> 20) MiB" }
    if n >= 1 << 10 && n % (1 << 10) == 0 { return "\(n >> 10) KiB" }
    return "\(n) B"
}
