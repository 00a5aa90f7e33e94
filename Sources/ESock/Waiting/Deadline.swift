#if canImport(Glibc)
import Glibc
#endif

/// A point in time on the monotonic clock (CLOCK_MONOTONIC, the clock the blocking waits'
/// condition variables use), in nanoseconds: when a wait's timeout ends, and when a backend's
/// timer fires.
///
/// A frozen `Int64`, where `ContinuousClock.Instant` is a resilient type of the standard
/// library: code outside it copies an instant, and an optional one, through the type's
/// metadata and value witnesses. Every waiting call carries its deadline from step to step
/// (mostly none): with instants that cost ~400 instructions per async socket call
/// (docs/architecture.md, "Eighth session").
struct Deadline: Comparable, Hashable, Sendable {
    /// Nanoseconds on CLOCK_MONOTONIC.
    let nanoseconds: Int64

    /// Now.
    static var now: Deadline {
        var ts = Glibc.timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Deadline(nanoseconds: Int64(ts.tv_sec) &* 1_000_000_000 &+ Int64(ts.tv_nsec))
    }

    /// `duration` from now (a negative one: now).
    static func after(_ duration: Duration) -> Deadline { now.advanced(by: duration) }

    /// `duration` after this deadline, saturating at the clock's end: huge durations mean
    /// "very long", never an arithmetic trap. A negative duration counts as zero.
    func advanced(by duration: Duration) -> Deadline {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0, attoseconds >= 0 else { return self }
        let (whole, overflowed) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let (sum, overflowedSum) = nanoseconds.addingReportingOverflow(whole)
        guard !overflowed, !overflowedSum else { return Deadline(nanoseconds: .max) }
        let (total, overflowedTotal) = sum.addingReportingOverflow(attoseconds / 1_000_000_000)
        return Deadline(nanoseconds: overflowedTotal ? .max : total)
    }

    /// The time from now until the deadline; zero or negative once it passed.
    func remaining() -> Duration {
        let (left, overflowed) = nanoseconds.subtractingReportingOverflow(Deadline.now.nanoseconds)
        guard overflowed else { return .nanoseconds(left) }
        // Beyond the clock's range either way (only a deadline made by hand gets there).
        return .seconds(nanoseconds < 0 ? Int64.min / 1_000_000_000 : Int64.max / 1_000_000_000)
    }

    /// The deadline as the absolute time pthread_cond_timedwait takes (on CLOCK_MONOTONIC).
    var timespec: Glibc.timespec {
        Glibc.timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
    }

    static func < (a: Deadline, b: Deadline) -> Bool { a.nanoseconds < b.nanoseconds }
}
