/// A time as seconds and microseconds: Erlang's `timeval()`, C's `struct timeval`.
public struct TimeValue: Sendable, Hashable, CustomStringConvertible {
    public var seconds: Int64
    public var microseconds: Int64

    public init(seconds: Int64, microseconds: Int64) {
        self.seconds = seconds
        self.microseconds = microseconds
    }

    /// The C struct's bytes (16 on this platform).
    var bytes: [UInt8] {
        var out: [UInt8] = []
        out.append(native: seconds)
        out.append(native: microseconds)
        return out
    }

    /// Decodes a C `struct timeval`; nil when `bytes` is not one.
    init?(bytes: [UInt8]) {
        guard bytes.count == 16, let s = bytes.load(Int64.self, at: 0), let us = bytes.load(Int64.self, at: 8) else { return nil }
        self.init(seconds: s, microseconds: us)
    }

    public var description: String { "#{sec => \(seconds), usec => \(microseconds)}" }
}
