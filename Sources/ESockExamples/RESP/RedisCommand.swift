/// A command for a Redis server: its name and arguments, sent as a RESP array of bulk strings
/// (binary-safe: a value may hold any bytes).
public struct RedisCommand: Sendable, Hashable {
    /// The command name and its arguments.
    public var arguments: [[UInt8]]

    /// A command from raw arguments (`[Array("SET".utf8), key, value]`).
    public init(_ arguments: [[UInt8]]) {
        self.arguments = arguments
    }

    /// A command from words (`RedisCommand("INCR", "counter")`).
    public init(_ words: String...) {
        arguments = words.map { Array($0.utf8) }
    }

    /// `SET key value`.
    public static func set(_ key: String, _ value: [UInt8]) -> RedisCommand {
        RedisCommand([Array("SET".utf8), Array(key.utf8), value])
    }

    /// `GET key`.
    public static func get(_ key: String) -> RedisCommand {
        RedisCommand("GET", key)
    }

    /// `DEL key`.
    public static func del(_ key: String) -> RedisCommand {
        RedisCommand("DEL", key)
    }

    /// Appends the command in RESP to `out`: `*N\r\n` then `$len\r\nbytes\r\n` per argument.
    public func encode(into out: inout [UInt8]) {
        out += Array("*\(arguments.count)\r\n".utf8)
        for argument in arguments {
            out += Array("$\(argument.count)\r\n".utf8)
            out += argument
            out += [.cr, .lf]
        }
    }
}
