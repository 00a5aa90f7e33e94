// chart.svg: one group of horizontal bars per workload, each bar a server's median over the
// rounds with a line from its slowest to its fastest round, a legend of servers by backend and
// API, and each group's unit on an axis of its own.
import Foundation

extension Report {
    /// Colours: greys and orange for the baselines, greens for ESock on select, blues for ESock
    /// on completion, the darkest shade for the nowait API.
    static let colors: [String: String] = [
        "c-epoll": "#b0b0b0", "c-uring": "#707070", "nio": "#e69f00",
        "esock-select": "#1b7837", "esock-select-async": "#5aae61",
        "esock-select-blocking": "#a6dba0", "esock-select-harvester": "#d9f0d3",
        "esock-completion": "#2166ac", "esock-completion-async": "#4393c3",
        "esock-completion-blocking": "#92c5de", "esock-completion-harvester": "#d1e5f0",
    ]

    func svg() -> String {
        let left = 250.0, barMax = 520.0, barH = 14.0, gap = 4.0, width = 1030.0
        var body = ""
        var y = 24.0
        func text(_ x: Double, _ y: Double, _ s: String, _ cls: String, anchor: String = "start") {
            body += "<text x=\"\(fmt(x, 1))\" y=\"\(fmt(y, 1))\" class=\"\(cls)\" text-anchor=\"\(anchor)\">\(escape(s))</text>\n"
        }
        func swatch(_ x: Double, _ y: Double, _ id: String) {
            body += "<rect x=\"\(fmt(x, 1))\" y=\"\(fmt(y, 1))\" width=\"12\" height=\"12\" fill=\"\(Self.colors[id] ?? "#888")\" "
                + "stroke=\"#333\" stroke-width=\"0.6\"/>\n"
        }

        text(10, y, "ESock: select (epoll) vs completion (io_uring) on loopback, each server on one CPU", "title")
        y += 18
        text(10, y, "\(machine.cpuModel), \(machine.cpus) CPUs, Linux \(machine.kernel), \(machine.date); load average "
             + "\(machine.loadAverage.split(separator: " ").first ?? "?") at the start, "
             + "\(loadAverageAtEnd.split(separator: " ").first ?? "?") at the end", "sub")
        y += 15
        text(10, y, "\(fmt(settings.seconds, 1)) s windows after \(fmt(settings.warmup, 1)) s warm-up; \(method)", "sub")
        y += 15
        text(10, y, settings.rounds > 1
             ? "Bar: the median of \(settings.rounds) rounds. Black line: slowest to fastest round. Higher is better in every group."
             : "Bar: one round (no spread measured; use --rounds 3). Higher is better in every group.", "sub")
        y += 15
        text(10, y, "After each figure: its range over the rounds, then the ratio of medians to the C server of the same I/O model "
             + "(C epoll for select, C io_uring for completion).", "sub")
        y += 24

        // Legend: one row per family, the servers of this run only.
        let families: [(String, [ServerKind])] = [
            ("Baselines", servers.filter(\.isBaseline)),
            ("ESock on select (epoll)", servers.filter { !$0.isBaseline && $0.model == .select }),
            ("ESock on completion (io_uring)", servers.filter { !$0.isBaseline && $0.model == .completion }),
        ]
        for (family, members) in families where !members.isEmpty {
            text(10, y + 10, family, "legendhead")
            var x = 230.0
            for s in members {
                swatch(x, y, s.id)
                let label = s.api ?? s.name
                text(x + 17, y + 10, label, "legend")
                x += 30 + Double(label.count) * 6.5
            }
            y += 19
        }
        let apis: [(String, String)] = [
            ("nowait", "one thread, nowait calls and a mailbox (Erlang style)"),
            ("blocking", "a thread per connection, blocking calls"),
            ("async", "a task per connection, async calls, on the backend's executor"),
            ("nowait, harvester", "nowait with the harvester-only threading model"),
        ].filter { api in servers.contains { $0.api == api.0 } }
        if !apis.isEmpty {
            text(10, y + 10, "ESock's APIs", "legendhead")
            for (api, meaning) in apis {
                text(230, y + 10, "\(api): \(meaning)", "sub")
                y += 15
            }
        }
        y += 22

        for w in workloads {
            let rows = summaries(w)
            guard !rows.isEmpty else { continue }
            let top = rows.compactMap { $0.summary.headline.map { w.shown($0.max) } }.max() ?? 0
            let (step, axisMax) = Self.axis(top)
            func scale(_ v: Double) -> Double { axisMax > 0 ? min(max(v, 0) / axisMax, 1) * barMax : 0 }

            // Only ESock's HTTP example speaks HTTP: those groups have no C or SwiftNIO bar.
            let note = w.family == "http" ? "; ESock's HTTP example only (the C and NIO servers do not speak HTTP)" : ""
            body += "<text x=\"10\" y=\"\(fmt(y, 1))\" class=\"group\">\(escape(w.title))"
                + "<tspan class=\"unit\" dx=\"10\">\(escape(w.unit)), higher is better\(escape(note))</tspan></text>\n"
            y += 17
            let gridTop = y + 4, gridBottom = y + 4 + Double(rows.count) * (barH + gap)
            var tick = 0.0
            while step > 0, tick <= axisMax + step / 2 {
                let x = left + scale(tick)
                text(x, y, thousands(tick), "tick", anchor: "middle")
                body += "<line x1=\"\(fmt(x, 1))\" y1=\"\(fmt(gridTop, 1))\" x2=\"\(fmt(x, 1))\" y2=\"\(fmt(gridBottom, 1))\" "
                    + "class=\"\(tick == 0 ? "axis" : "grid")\"/>\n"
                tick += step
            }
            y = gridTop
            for (s, summary) in rows {
                text(left - 8, y + barH - 3, s.name, "name", anchor: "end")
                guard let spread = summary.headline else {
                    text(left + 6, y + barH - 3, "failed in every round: \(summary.failures.first ?? "?")", "fail")
                    y += barH + gap
                    continue
                }
                let median = w.shown(spread.median), low = w.shown(spread.min), high = w.shown(spread.max)
                body += "<rect x=\"\(fmt(left, 1))\" y=\"\(fmt(y, 1))\" width=\"\(fmt(max(scale(median), 1), 1))\" height=\"\(barH)\" "
                    + "fill=\"\(Self.colors[s.id] ?? "#888")\" stroke=\"#333\" stroke-width=\"0.5\"/>\n"
                if summary.good.count > 1 {
                    let mid = y + barH / 2
                    let x1 = left + scale(low), x2 = left + scale(high)
                    let d = "M\(fmt(x1, 1)) \(fmt(mid, 1))H\(fmt(x2, 1))M\(fmt(x1, 1)) \(fmt(mid - 5, 1))V\(fmt(mid + 5, 1))"
                        + "M\(fmt(x2, 1)) \(fmt(mid - 5, 1))V\(fmt(mid + 5, 1))"
                    body += "<path d=\"\(d)\" class=\"whisker\"/>\n"
                }
                var label = thousands(median)
                if summary.good.count > 1 { label += " (\(thousands(low))–\(thousands(high)))" }
                if let base = s.cBaselineID, let r = ratio(s.id, to: base, in: w) {
                    label += " · \(fmt(r, 2))x \(servers.first { $0.id == base }?.name ?? base)"
                }
                if !summary.failures.isEmpty { label += " · \(summary.failures.count) of \(summary.samples.count) rounds failed" }
                text(left + max(scale(median), scale(high)) + 8, y + barH - 3, label, "value")
                y += barH + gap
            }
            y += 26
        }

        return """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(fmt(width, 0))" height="\(fmt(y, 0))" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">
        <style>.title{font-size:17px;font-weight:bold}.sub{font-size:11px;fill:#444}.group{font-size:14px;font-weight:bold}\
        .unit{font-size:12px;font-weight:normal;fill:#444}.name{font-size:11px}.value{font-size:11px}.fail{font-size:11px;fill:#b00}\
        .tick{font-size:9px;fill:#777}.grid{stroke:#e4e4e4;stroke-width:1}.axis{stroke:#999;stroke-width:1}\
        .whisker{stroke:#111;stroke-width:1.4;fill:none}.legend{font-size:11px}.legendhead{font-size:11px;font-weight:bold}</style>
        <rect width="100%" height="100%" fill="white"/>
        \(body)</svg>

        """
    }

    /// A tick step of 1, 2, 2.5 or 5 × 10^k giving four to six intervals up to `top`, and the
    /// axis end (a whole number of steps at or above `top`).
    static func axis(_ top: Double) -> (step: Double, end: Double) {
        guard top > 0, top.isFinite else { return (0, 0) }
        let raw = top / 5
        let power = pow(10, floor(log10(raw)))
        let step = [1, 2, 2.5, 5, 10].map { $0 * power }.first { $0 >= raw } ?? 10 * power
        return (step, (top / step).rounded(.up) * step)
    }

    private func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
    }
}
