// The samples of one server on one workload (one per round) and their spread: what the table,
// the chart, the targets and results.json report, rather than any single sample.

/// The smallest, middle and largest of a set of samples.
struct Spread: Codable, Sendable {
    let min: Double
    let median: Double
    let max: Double

    /// Nil for no values; the median of an even count is the mean of the middle two.
    init?(_ values: [Double]) {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let mid = sorted.count / 2
        min = sorted[0]
        max = sorted[sorted.count - 1]
        median = sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }
}

/// Every sample of one server on one workload.
struct Summary: Sendable {
    let server: String
    let workload: Workload
    /// All samples, in round order, the failed ones too.
    let samples: [Measurement]

    /// The samples that measured something.
    var good: [Measurement] { samples.filter(\.ok) }

    /// Why samples failed, one entry per failed sample.
    var failures: [String] { samples.filter { !$0.ok }.map { "round \($0.round): \($0.failure ?? "?")" } }

    /// The headline figure (ops/s or bytes/s) over the good samples.
    var headline: Spread? { spread { $0.headline(workload.headline) } }

    /// Any per-sample figure over the good samples.
    func spread(_ figure: (Measurement) -> Double?) -> Spread? {
        Spread(good.compactMap(figure))
    }

    /// The median of a per-sample figure.
    func median(_ figure: (Measurement) -> Double?) -> Double? {
        spread(figure)?.median
    }
}
