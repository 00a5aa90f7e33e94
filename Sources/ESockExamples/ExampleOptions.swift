import ESock

/// The command line of the example programs: `--backend select|completion|auto`, `--port N`;
/// for the HTTP server `--api async|nowait` and `--file PATH`; for the Redis client `--host
/// A.B.C.D`, `--keys N`, `--value-size N` and `--depth N`.
public struct ExampleOptions: Sendable {
    /// The API an example server is written with.
    public enum API: String, Sendable {
        /// async/await: a task per connection.
        case async
        /// nowait calls and a mailbox: one thread, Erlang style.
        case nowait
    }

    /// The backend asked for; nil: the process default (ESOCK_IO_BACKEND, else auto).
    public var backend: BackendChoice?
    /// The port to listen on (servers; 0: any free port) or to connect to (clients).
    public var port: UInt16
    /// The API of the HTTP server.
    public var api = API.async
    /// The file the HTTP server serves at `/file`.
    public var file: String?
    /// The address of the Redis server.
    public var host = IPv4Address.loopback
    /// The keys the Redis benchmark sets and gets.
    public var keys = 10_000
    /// The size of each value the Redis benchmark sets.
    public var valueSize = 64
    /// Commands per pipeline in the Redis benchmark (0: all of them in one).
    public var depth = 0

    /// Parses `arguments` (without the program name), starting from `port`; a message says
    /// what is wrong.
    public init(_ arguments: [String], port: UInt16) throws(SocketError) {
        self.port = port
        var rest = arguments[...]
        while let flag = rest.popFirst() {
            guard let value = rest.popFirst() else { throw SocketError(.invalid("\(flag) needs a value")) }
            func count(max: Int) throws(SocketError) -> Int {
                guard let n = Int(value), n >= 0, n <= max else { throw SocketError(.invalid("\(flag) \(value)")) }
                return n
            }
            switch flag {
            case "--backend":
                guard let b = BackendChoice(rawValue: value) else { throw SocketError(.invalid("backend \(value)")) }
                backend = b
            case "--port":
                guard let p = UInt16(value) else { throw SocketError(.invalid("port \(value)")) }
                self.port = p
            case "--api":
                guard let a = API(rawValue: value) else { throw SocketError(.invalid("api \(value) (async or nowait)")) }
                api = a
            case "--file":
                file = value
            case "--host":
                guard let h = IPv4Address(value) else { throw SocketError(.invalid("host \(value) (an IPv4 address)")) }
                host = h
            case "--keys":
                keys = try count(max: 100_000_000)
            case "--value-size":
                valueSize = try count(max: 512 << 20)
            case "--depth":
                depth = try count(max: 100_000_000)
            default:
                throw SocketError(.invalid("unknown option \(flag)"))
            }
        }
    }
}
