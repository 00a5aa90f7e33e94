/// A value of RESP2, the Redis serialization protocol (https://redis.io/docs/latest/develop/reference/protocol-spec/).
public indirect enum RESPValue: Sendable, Hashable, CustomStringConvertible {
    /// `+OK\r\n`: a short text without CR or LF.
    case simpleString(String)
    /// `-ERR message\r\n`: the server's error reply to one command.
    case error(String)
    /// `:42\r\n`: a signed 64-bit integer.
    case integer(Int64)
    /// `$5\r\nhello\r\n`: binary-safe bytes; nil is the null bulk string `$-1\r\n` (GET of a
    /// missing key).
    case bulkString([UInt8]?)
    /// `*2\r\n...`: values of any type; nil is the null array `*-1\r\n`.
    case array([RESPValue]?)

    /// The value in RESP (what a server sends; a client sends its commands as arrays of bulk
    /// strings, ``RedisCommand``).
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        encode(into: &out)
        return out
    }

    /// Appends the value in RESP to `out`.
    public func encode(into out: inout [UInt8]) {
        switch self {
        case .simpleString(let s): out += Array("+\(s)\r\n".utf8)
        case .error(let s): out += Array("-\(s)\r\n".utf8)
        case .integer(let n): out += Array(":\(n)\r\n".utf8)
        case .bulkString(nil): out += Array("$-1\r\n".utf8)
        case .bulkString(let bytes?):
            out += Array("$\(bytes.count)\r\n".utf8)
            out += bytes
            out += [.cr, .lf]
        case .array(nil): out += Array("*-1\r\n".utf8)
        case .array(let values?):
            out += Array("*\(values.count)\r\n".utf8)
            for v in values { v.encode(into: &out) }
        }
    }

    /// The value as redis-cli shows it, roughly: `"OK"`, `(error) ERR ...`, `(integer) 1`, `(nil)`.
    public var description: String {
        switch self {
        case .simpleString(let s): return s
        case .error(let s): return "(error) \(s)"
        case .integer(let n): return "(integer) \(n)"
        case .bulkString(nil), .array(nil): return "(nil)"
        case .bulkString(let b?): return "\"\(String(decoding: b, as: UTF8.self))\""
        case .array(let a?): return "[" + a.map(\.description).joined(separator: ", ") + "]"
        }
    }
}
