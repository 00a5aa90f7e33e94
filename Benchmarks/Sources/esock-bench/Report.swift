// The run's report: a table per workload on stdout and results.json, from the medians and spread
// of every server's samples (the chart is Chart.swift, the targets Targets.swift).
import Foundation

struct Report {
    let workloads: [Workload]
    let servers: [ServerKind]
    let results: [Measurement]
    let machine: MachineInfo
    let settings: RunSettings
    /// /proc/loadavg when the last sample was taken (`machine.loadAverage` is at the start).
    let loadAverageAtEnd: String

    /// Every server's samples on a workload, for the servers that ran it.
    func summaries(_ w: Workload) -> [(server: ServerKind, summary: Summary)] {
        servers.compactMap { s in
            let samples = results.filter { $0.server == s.id && $0.workload == w.id }
            return samples.isEmpty ? nil : (s, Summary(server: s.id, workload: w, samples: samples))
        }
    }

    /// The samples of `server` on `w`, when at least one of them measured something.
    func summary(_ server: String, _ w: Workload) -> Summary? {
        let samples = results.filter { $0.server == server && $0.workload == w.id }
        let summary = Summary(server: server, workload: w, samples: samples)
        return summary.good.isEmpty ? nil : summary
    }

    /// `server`'s median over `base`'s median, of the headline figure or of `figure`.
    func ratio(_ server: String, to base: String?, in w: Workload,
               of figure: ((Measurement) -> Double?)? = nil) -> Double? {
        guard let base, let a = summary(server, w), let b = summary(base, w) else { return nil }
        let pick = figure ?? { $0.headline(w.headline) }
        guard let av = a.median(pick), let bv = b.median(pick), bv > 0 else { return nil }
        return av / bv
    }

    /// "3 rounds, servers alternating; medians": how the figures were taken, for every output.
    var method: String {
        settings.rounds == 1 ? "1 round (one sample per server; no spread)"
                             : "\(settings.rounds) rounds, servers alternating; median (min–max)"
    }

    // MARK: table

    func table() -> String {
        var out = "\nFigures: \(method); ratios are of medians. Higher is better except latency and CPU.\n"
            + "Load average (1, 5, 15 min): \(machine.loadAverage) at the start, \(loadAverageAtEnd) at the end.\n"
        for w in workloads {
            let rows = summaries(w)
            guard !rows.isEmpty else { continue }
            out += "\n\(w.title) (\(w.unit))\n"
            var table: [[String]] = [["server", w.unit, "min", "max", "p50 µs", "p99 µs", "CPU µs/op", "CPU",
                                      "vs C", "vs NIO", "extra"]]
            for (s, summary) in rows {
                let failed = summary.failures.isEmpty ? ""
                    : "\(summary.failures.count) of \(summary.samples.count) failed: \(summary.failures[0])"
                guard let spread = summary.headline else {
                    table.append([s.id, "failed", "", "", "", "", "", "", "", "", failed])
                    continue
                }
                let latency = w.family == "echo" || w.family == "idle" || w.family == "http"
                let perConn = summary.median { $0.serverBytesPerConnection }.map { "\(fmt($0 / 1024, 1)) KiB/conn" }
                table.append([
                    s.id, thousands(w.shown(spread.median)), thousands(w.shown(spread.min)), thousands(w.shown(spread.max)),
                    latency ? summary.median { $0.p50Microseconds }.map { fmt($0, 0) } ?? "" : "",
                    latency ? summary.median { $0.p99Microseconds }.map { fmt($0, 0) } ?? "" : "",
                    summary.median { $0.serverCPUMicrosecondsPerOp }.map { fmt($0, 2) } ?? "",
                    summary.median { $0.serverCPUShare }.map { "\(fmt($0 * 100, 0))%" } ?? "",
                    ratio(s.id, to: s.cBaselineID, in: w).map { fmt($0, 2) + "x" } ?? "",
                    s.isBaseline ? "" : ratio(s.id, to: "nio", in: w).map { fmt($0, 2) + "x" } ?? "",
                    [perConn ?? "", failed].filter { !$0.isEmpty }.joined(separator: "; "),
                ])
            }
            out += layout(table)
        }
        return out
    }

    // MARK: JSON

    func json() throws -> Data {
        struct Document: Encodable {
            let machine: MachineInfo
            let seconds: Double
            let warmup: Double
            let rounds: Int
            let method: String
            let loadAverageAtEnd: String
            let workloads: [WorkloadEntry]
            /// Per server and workload: the spread of each figure over the rounds.
            let summaries: [SummaryEntry]
            /// Every sample.
            let results: [Measurement]
            let targets: [Target]
        }
        struct WorkloadEntry: Encodable {
            let id, family, title, headline, unit: String
            let conns, size: Int
        }
        struct SummaryEntry: Encodable {
            let server, workload: String
            let samples, failed: Int
            /// The headline figure in its unit (ops/s or MiB/s).
            let headline: Spread?
            let unit: String
            let p50Microseconds, p99Microseconds, serverCPUMicrosecondsPerOp, serverCPUShare: Spread?
            let serverBytesPerConnection: Spread?
            /// Medians over medians.
            let vsC, vsNIO: Double?
        }
        var entries: [SummaryEntry] = []
        for w in workloads {
            for (s, summary) in summaries(w) {
                entries.append(SummaryEntry(
                    server: s.id, workload: w.id, samples: summary.samples.count, failed: summary.failures.count,
                    headline: summary.spread { w.shown($0.headline(w.headline)) }, unit: w.unit,
                    p50Microseconds: summary.spread { $0.p50Microseconds },
                    p99Microseconds: summary.spread { $0.p99Microseconds },
                    serverCPUMicrosecondsPerOp: summary.spread { $0.serverCPUMicrosecondsPerOp },
                    serverCPUShare: summary.spread { $0.serverCPUShare },
                    serverBytesPerConnection: summary.spread { $0.serverBytesPerConnection },
                    vsC: ratio(s.id, to: s.cBaselineID, in: w),
                    vsNIO: s.isBaseline ? nil : ratio(s.id, to: "nio", in: w)))
            }
        }
        let doc = Document(
            machine: machine, seconds: settings.seconds, warmup: settings.warmup, rounds: settings.rounds,
            method: method, loadAverageAtEnd: loadAverageAtEnd,
            workloads: workloads.map { WorkloadEntry(id: $0.id, family: $0.family, title: $0.title,
                                                     headline: $0.headline.rawValue, unit: $0.unit,
                                                     conns: $0.conns, size: $0.size) },
            summaries: entries, results: results, targets: targets())
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(doc)
    }
}

/// Lays out rows as columns: the `left` ones left-aligned (the first by default), the rest right-aligned.
func layout(_ rows: [[String]], left: Set<Int> = [0]) -> String {
    let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max() ?? 0 }
    return rows.map { row in
        row.enumerated().map { c, cell in
            left.contains(c) ? cell.padding(toLength: widths[c], withPad: " ", startingAt: 0)
                   : String(repeating: " ", count: widths[c] - cell.count) + cell
        }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
    }.joined(separator: "\n") + "\n"
}

/// A whole number with thousands separators ("212,244"); one decimal below 10.
func thousands(_ v: Double) -> String {
    guard v.isFinite, abs(v) < 1e15 else { return "n/a" }
    if abs(v) < 10 && v != v.rounded() { return fmt(v, 1) }
    let whole = Int(v.rounded())
    var digits = String(abs(whole))
    var groups: [Substring] = []
    while digits.count > 3 {
        groups.insert(digits.suffix(3), at: 0)
        digits.removeLast(3)
    }
    groups.insert(Substring(digits), at: 0)
    return (whole < 0 ? "-" : "") + groups.joined(separator: ",")
}

func fmt(_ v: Double, _ decimals: Int) -> String {
    String(format: "%.\(decimals)f", v)
}
