/// Bytes that are not RESP2, or a value over ``RESPParser/Limits``: after one, the stream
/// cannot be trusted and the connection must close.
public struct RESPError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was wrong.
    public var message: String

    /// An error saying `message`.
    public init(_ message: String) {
        self.message = message
    }

    /// `RESP protocol error: ...`.
    public var description: String { "RESP protocol error: \(message)" }
}
