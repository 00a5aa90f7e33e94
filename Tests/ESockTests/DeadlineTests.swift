@testable import ESock
import Testing

/// The waits' deadlines (``Deadline``, nanoseconds on CLOCK_MONOTONIC): arithmetic on a user's
/// timeout never traps, and huge timeouts mean "very long".
@Suite("Deadline: a wait's end on the monotonic clock")
struct DeadlineTests {
    @Test("later is later; what remains shrinks to zero and below")
    func ordering() {
        let now = Deadline.now
        let later = now.advanced(by: .milliseconds(5))
        #expect(now < later)
        #expect(later.nanoseconds - now.nanoseconds == 5_000_000)
        #expect(later.remaining() <= .milliseconds(5))
        #expect(Deadline(nanoseconds: now.nanoseconds - 1_000_000_000).remaining() < .zero)
        #expect(Deadline.now >= now, "the clock does not go back")
    }

    @Test("huge, negative and sub-nanosecond durations: no trap, saturating at the clock's end",
          arguments: [Duration.seconds(Int64.max), .seconds(Int64.max / 1_000_000_000), .seconds(-5),
                      .nanoseconds(Int64.min), .init(secondsComponent: 0, attosecondsComponent: 999_999_999),
                      .init(secondsComponent: Int64.max, attosecondsComponent: 999_999_999_999_999_999)])
    func saturating(duration: Duration) {
        let start = Deadline.now
        let d = start.advanced(by: duration)
        if duration < .nanoseconds(1) {
            #expect(d == start, "a negative or sub-nanosecond duration adds nothing")
        } else {
            #expect(d > start)
        }
        #expect(Deadline(nanoseconds: .max).advanced(by: duration) == Deadline(nanoseconds: .max))
        _ = d.timespec
        _ = d.remaining()
        #expect(Deadline(nanoseconds: .min).remaining() < .zero, "long passed")
        #expect(Deadline(nanoseconds: .max).remaining() > .seconds(1_000_000))
    }

    @Test("a timeout's deadline: infinity has none, a huge one is a century, a negative one is now")
    func fromTimeout() throws {
        #expect(Timeout.infinity.deadline() == nil)
        let before = Deadline.now
        let century = try #require(Timeout.after(.seconds(Int64.max)).deadline())
        #expect(century.nanoseconds - before.nanoseconds >= 100 * 365 * 86_400 * 1_000_000_000)
        let past = Timeout.after(.seconds(-3)).deadline()
        #expect(past != nil && past!.remaining() <= .zero)
    }
}
