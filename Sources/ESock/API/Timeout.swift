/// How long a blocking call may wait: Erlang's `Timeout :: infinity | integer() >= 0`.
///
/// Erlang's other two timeout forms, `nowait` and a handle, are the `nowait:` overloads of each
/// operation, which return a ``Pending`` instead of waiting.
///
/// A zero timeout still tries the operation once before it reports ``SocketError/Reason/timeout``.
public enum Timeout: Sendable, Hashable {
    /// Wait until the operation completes or fails (Erlang: `infinity`).
    case infinity
    /// Wait at most this long (Erlang: a timeout in milliseconds).
    case after(Duration)

    /// Wait at most `ms` milliseconds.
    public static func milliseconds(_ ms: Int) -> Timeout { .after(.milliseconds(ms)) }
    /// Wait at most `s` seconds.
    public static func seconds(_ s: Int) -> Timeout { .after(.seconds(s)) }
    /// Try once, never wait.
    public static var zero: Timeout { .after(.zero) }

    /// Whether the timeout is zero (or negative): try once, never wait.
    var isZero: Bool {
        if case .after(let d) = self { return d <= .zero }
        return false
    }

    /// The instant this timeout ends, measured from now; nil for ``infinity``. A timeout
    /// longer than a century is a century: huge timeouts mean "very long", never a trap.
    func deadline() -> Deadline? {
        switch self {
        case .infinity: return nil
        case .after(let d): return Deadline.after(min(max(d, .zero), .seconds(100 * 365 * 86_400)))
        }
    }
}
