import ESock

/// Why a ``RedisClient`` call failed.
public enum RedisError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The socket failed: the server closed the connection, refused it, reset it ...
    case socket(SocketError)
    /// The server sent bytes that are not RESP2; the client closed the connection.
    case protocolError(RESPError)
    /// The server answered the command with an error reply (`-ERR ...`).
    case server(String)
    /// The reply is valid RESP but not what the command returns (`+OK` where a bulk string
    /// was due ...).
    case unexpected(RESPValue)
    /// A value read back is not the value written (``RedisBench``).
    case mismatch(key: String)

    /// What went wrong, for a log line.
    public var description: String {
        switch self {
        case .socket(let e): return "socket: \(e)"
        case .protocolError(let e): return "\(e)"
        case .server(let message): return "server: \(message)"
        case .unexpected(let v): return "unexpected reply \(v)"
        case .mismatch(let key): return "the value read from \(key) is not the value written"
        }
    }
}
