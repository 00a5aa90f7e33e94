// The figures ESock is held to, each said in words a reader can check against the table, and
// whether this run met it. Ratios are of medians (over the rounds) of the same run.

/// One target: a bound on a ratio of two servers' figures, or on an absolute figure.
struct Target: Encodable, Sendable {
    enum Bound: String, Encodable, Sendable {
        case atLeast = "≥"
        case atMost = "≤"
    }

    /// The whole target as a sentence: "completion ≥ 0.95x C io_uring on echo 64 conns × 64 B".
    let name: String
    /// The run's figure (a ratio of medians, or a median); nil when the run did not measure it.
    let measured: Double?
    let bound: Bound
    let limit: Double
    /// "x" for a ratio, "KiB" for memory.
    let unit: String
    /// Nil when not measured.
    let met: Bool?

    init(_ name: String, _ measured: Double?, _ bound: Bound, _ limit: Double, unit: String) {
        self.name = name
        self.measured = measured
        self.bound = bound
        self.limit = limit
        self.unit = unit
        met = measured.map { bound == .atLeast ? $0 >= limit : $0 <= limit }
    }

    /// A figure in the target's unit: "0.95x", "1.50 KiB"; with a third decimal where two would
    /// show the limit itself (0.899 is not "0.90x" against a limit of 0.90x).
    func text(_ value: Double) -> String {
        let decimals = fmt(value, 2) == fmt(limit, 2) ? 3 : 2
        return unit == "x" ? fmt(value, decimals) + "x" : "\(fmt(value, decimals)) \(unit)"
    }
}

extension Report {
    /// The targets whose workload this run measured.
    func targets() -> [Target] {
        var list: [Target] = []
        func workload(_ id: String) -> Workload? { workloads.first { $0.id == id } }
        /// "`a` ≥ `limit`x `b` on `w`", from the medians of the headline (or `figure`).
        func ratioTarget(_ a: String, _ aName: String, _ bound: Target.Bound, _ limit: Double,
                         _ b: String, _ bName: String, on w: Workload, place: String,
                         of figure: ((Measurement) -> Double?)? = nil) {
            let limitText = fmt(limit, 2) + "x"
            list.append(Target("\(aName) \(bound.rawValue) \(limitText) \(bName) on \(place)",
                               ratio(a, to: b, in: w, of: figure), bound, limit, unit: "x"))
        }

        if let idle = workload("idle-wave") {
            let place = "the \(thousands(Double(idle.conns)))-connection idle wave"
                + (idle.conns == 10_000 ? "" : " (set for 10,000)")
            ratioTarget("esock-completion", "completion", .atLeast, 0.95, "c-uring", "C io_uring", on: idle, place: place)
            ratioTarget("esock-select", "select", .atLeast, 0.95, "c-epoll", "C epoll", on: idle, place: place)
            ratioTarget("esock-completion", "completion's server CPU per round trip", .atMost, 1.0,
                        "esock-select", "select's", on: idle, place: place, of: { $0.serverCPUMicrosecondsPerOp })
            for backend in ["select", "completion"] {
                ratioTarget("esock-\(backend)-async", "\(backend) async (a task per connection)",
                            .atLeast, 0.85, "esock-\(backend)", "\(backend) nowait", on: idle, place: place)
            }
            for (api, limit) in [("", 1.5), ("-async", 2.5)] {
                for backend in ["select", "completion"] {
                    let id = "esock-\(backend)\(api)"
                    let kib = summary(id, idle)?.median { $0.serverBytesPerConnection }.map { $0 / 1024 }
                    list.append(Target("\(backend) \(api.isEmpty ? "nowait" : "async"): server memory per idle connection "
                                       + "\(Target.Bound.atMost.rawValue) \(fmt(limit, 2)) KiB on \(place)",
                                       kib, .atMost, limit, unit: "KiB"))
                }
            }
        }
        for id in ["echo-64x64", "echo-512x64"] {
            guard let w = workload(id) else { continue }
            ratioTarget("esock-completion", "completion", .atLeast, 0.95, "c-uring", "C io_uring", on: w, place: w.title)
            ratioTarget("esock-completion", "completion", .atLeast, 1.0, "esock-select", "select", on: w, place: w.title)
        }
        if let w = workload("echo-64x64") {
            ratioTarget("esock-select", "select", .atLeast, 0.85, "c-epoll", "C epoll", on: w, place: w.title)
            ratioTarget("esock-select", "select", .atLeast, 1.2, "nio", "SwiftNIO", on: w, place: w.title)
            ratioTarget("esock-completion", "completion", .atLeast, 1.2, "nio", "SwiftNIO", on: w, place: w.title)
        }
        for w in workloads where w.family == "stream" {
            ratioTarget("esock-select", "select", .atLeast, 0.9, "c-epoll", "C epoll", on: w, place: w.title)
            ratioTarget("esock-completion", "completion", .atLeast, 0.9, "c-uring", "C io_uring", on: w, place: w.title)
        }
        return list
    }

    /// The targets as lines: met / MISSED / not measured, the run's figure, the target.
    func targetText() -> String {
        let list = targets()
        guard !list.isEmpty else { return "\nNo targets cover these workloads.\n" }
        let met = list.filter { $0.met == true }.count
        let measured = list.filter { $0.met != nil }.count
        var rows = [["", "measured", "target"]]
        for t in list {
            rows.append([t.met.map { $0 ? "met" : "MISSED" } ?? "not measured",
                         t.measured.map(t.text) ?? "", t.name])
        }
        return "\nTargets (\(method); ratios of medians): \(met) of \(measured) measured met\n" + layout(rows, left: [0, 2])
    }
}
