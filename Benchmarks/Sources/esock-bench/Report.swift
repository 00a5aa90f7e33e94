// The run's report: a table on stdout, results.json, chart.svg, and the issue's targets checked.
import Foundation

struct Report {
    let workloads: [Workload]
    let servers: [ServerKind]
    let results: [Measurement]
    let machine: MachineInfo
    let settings: RunSettings

    func result(_ server: String, _ workload: String) -> Measurement? {
        results.first { $0.server == server && $0.workload == workload && $0.ok }
    }

    func ratio(_ server: String, to base: String?, in w: Workload) -> Double? {
        guard let base, let a = result(server, w.id), let b = result(base, w.id) else { return nil }
        let bv = b.headline(w.headline)
        return bv > 0 ? a.headline(w.headline) / bv : nil
    }

    // MARK: table

    func table() -> String {
        var out = ""
        for w in workloads {
            out += "\n\(w.title)\n"
            let header = ["server", w.headline == .opsPerSecond ? "ops/s" : "MiB/s", "p50 µs", "p99 µs",
                          "CPU µs/op", "CPU", "vs C", "vs NIO", "extra"]
            var rows: [[String]] = [header]
            for s in servers {
                guard let m = results.first(where: { $0.server == s.id && $0.workload == w.id }) else { continue }
                guard m.ok else {
                    rows.append([s.id, "failed: \(m.failure ?? "?")", "", "", "", "", "", "", ""])
                    continue
                }
                let value = w.headline == .opsPerSecond ? fmt(m.opsPerSecond, 0) : fmt(m.bytesPerSecond / 1048576, 0)
                let latency = w.family == "echo" || w.family == "idle" || w.family == "http"
                let extra = m.serverBytesPerConnection.map { "\(fmt($0 / 1024, 1)) KiB/conn" } ?? ""
                rows.append([
                    s.id, value,
                    latency ? fmt(m.p50Microseconds, 0) : "", latency ? fmt(m.p99Microseconds, 0) : "",
                    fmt(m.serverCPUMicrosecondsPerOp, 2), "\(fmt(m.serverCPUShare * 100, 0))%",
                    ratio(s.id, to: s.cBaselineID, in: w).map { fmt($0, 2) + "x" } ?? "",
                    s.isBaseline ? "" : ratio(s.id, to: "nio", in: w).map { fmt($0, 2) + "x" } ?? "",
                    extra,
                ])
            }
            out += layout(rows)
        }
        return out
    }

    private func layout(_ rows: [[String]]) -> String {
        let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { c, cell in
                c == 0 ? cell.padding(toLength: widths[c], withPad: " ", startingAt: 0)
                       : String(repeating: " ", count: widths[c] - cell.count) + cell
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n") + "\n"
    }

    // MARK: targets (issue #3)

    struct Target: Codable {
        let name: String
        let ratio: Double?
        let threshold: Double
        var met: Bool { (ratio ?? 0) >= threshold }
    }

    func targets() -> [Target] {
        func w(_ id: String) -> Workload? { workloads.first { $0.id == id } }
        func r(_ a: String, _ b: String, _ id: String) -> Double? { w(id).flatMap { ratio(a, to: b, in: $0) } }
        var list: [Target] = [
            Target(name: "completion / C io_uring, echo 64 × 64 B", ratio: r("esock-completion", "c-uring", "echo-64x64"), threshold: 0.85),
            Target(name: "select / C epoll, echo 64 × 64 B", ratio: r("esock-select", "c-epoll", "echo-64x64"), threshold: 0.85),
            Target(name: "completion / select, echo 512 × 64 B", ratio: r("esock-completion", "esock-select", "echo-512x64"), threshold: 1.15),
            Target(name: "select / SwiftNIO, echo 64 × 64 B", ratio: r("esock-select", "nio", "echo-64x64"), threshold: 1.2),
            Target(name: "completion / SwiftNIO, echo 64 × 64 B", ratio: r("esock-completion", "nio", "echo-64x64"), threshold: 1.2),
        ]
        for id in ["stream-send-1", "stream-recv-1", "stream-send-4", "stream-recv-4"] where w(id) != nil {
            list.append(Target(name: "select / C epoll, \(id)", ratio: r("esock-select", "c-epoll", id), threshold: 0.9))
            list.append(Target(name: "completion / C io_uring, \(id)", ratio: r("esock-completion", "c-uring", id), threshold: 0.9))
        }
        return list
    }

    func targetText() -> String {
        var rows = [["target (issue #3)", "ratio", "needed", ""]]
        for t in targets() {
            rows.append([t.name, t.ratio.map { fmt($0, 2) + "x" } ?? "n/a", fmt(t.threshold, 2) + "x",
                         t.ratio == nil ? "not measured" : (t.met ? "met" : "MISSED")])
        }
        return layout(rows)
    }

    // MARK: JSON

    func json() throws -> Data {
        struct Document: Encodable {
            let machine: MachineInfo
            let seconds: Double
            let warmup: Double
            let workloads: [WorkloadEntry]
            let results: [Measurement]
            let targets: [Target]
        }
        struct WorkloadEntry: Encodable {
            let id, family, title, headline: String
            let conns, size: Int
        }
        let doc = Document(
            machine: machine, seconds: settings.seconds, warmup: settings.warmup,
            workloads: workloads.map { WorkloadEntry(id: $0.id, family: $0.family, title: $0.title,
                                                     headline: $0.headline.rawValue, conns: $0.conns, size: $0.size) },
            results: results, targets: targets())
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(doc)
    }

    // MARK: chart

    /// Horizontal bars, one group per workload, each bar the server's headline figure relative to
    /// the best server of that workload, labelled with the value and its ratio to the C baseline.
    func svg() -> String {
        let colors: [String: String] = [
            "c-epoll": "#9e9e9e", "c-uring": "#616161", "nio": "#f4a261",
            "esock-select": "#2a9d8f", "esock-completion": "#264653",
            "esock-select-blocking": "#8ecae6", "esock-completion-blocking": "#219ebc",
            "esock-select-async": "#a8dadc", "esock-completion-async": "#457b9d",
            "esock-select-harvester": "#b7e4c7", "esock-completion-harvester": "#52b788",
        ]
        let left = 260.0, barMax = 520.0, barH = 13.0, gap = 3.0, groupGap = 26.0, width = 960.0
        var y = 70.0
        var body = ""
        for w in workloads {
            let rows = servers.compactMap { s in result(s.id, w.id).map { (s, $0) } }
            guard !rows.isEmpty else { continue }
            let best = rows.map { $0.1.headline(w.headline) }.max() ?? 1
            body += "<text x=\"10\" y=\"\(y)\" class=\"group\">\(escape(w.title))</text>\n"
            y += 8
            for (s, m) in rows {
                let v = m.headline(w.headline)
                let len = best > 0 ? max(1, v / best * barMax) : 1
                let label = w.headline == .opsPerSecond ? "\(fmt(v, 0)) ops/s" : "\(fmt(v / 1048576, 0)) MiB/s"
                let vsC = ratio(s.id, to: s.cBaselineID, in: w).map { "  (\(fmt($0, 2))x C)" } ?? ""
                body += "<text x=\"\(left - 6)\" y=\"\(y + barH - 3)\" class=\"name\">\(s.id)</text>"
                body += "<rect x=\"\(left)\" y=\"\(y)\" width=\"\(fmt(len, 1))\" height=\"\(barH)\" fill=\"\(colors[s.id] ?? "#888")\"/>"
                body += "<text x=\"\(left + len + 4)\" y=\"\(y + barH - 3)\" class=\"value\">\(label)\(vsC)</text>\n"
                y += barH + gap
            }
            y += groupGap
        }
        let title = "ESock: select (epoll) vs completion (io_uring), loopback, server on 1 CPU"
        let subtitle = "\(machine.cpuModel), \(machine.cpus) CPUs, Linux \(machine.kernel), \(fmt(settings.seconds, 0)) s per run; bars relative to the best server of each workload"
        return """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(y + 10)" font-family="sans-serif">
        <style>.group{font-size:14px;font-weight:bold}.name{font-size:11px;text-anchor:end}.value{font-size:11px}.title{font-size:17px;font-weight:bold}.sub{font-size:11px;fill:#555}</style>
        <rect width="100%" height="100%" fill="white"/>
        <text x="10" y="24" class="title">\(escape(title))</text>
        <text x="10" y="42" class="sub">\(escape(subtitle))</text>
        \(body)</svg>

        """
    }

    private func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
    }
}

func fmt(_ v: Double, _ decimals: Int) -> String {
    String(format: "%.\(decimals)f", v)
}

/// What the run was measured on.
struct MachineInfo: Codable, Sendable {
    let cpuModel: String
    let cpus: Int
    let kernel: String
    let date: String

    static func current() -> MachineInfo {
        let cpuinfo = readProcFile("/proc/cpuinfo") ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .map { String($0.split(separator: ":", maxSplits: 1).last ?? "").trimmingCharacters(in: .whitespaces) } ?? "unknown"
        let kernel = (readProcFile("/proc/sys/kernel/osrelease") ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        return MachineInfo(cpuModel: model, cpus: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), kernel: kernel,
                           date: ISO8601DateFormatter().string(from: Date()))
    }
}
