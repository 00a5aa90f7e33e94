import ESock

/// The command line of the example programs: `--backend select|completion|auto`, `--port N`;
/// for the HTTP server `--api async|nowait` and `--file PATH`.
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
    /// The port to listen on (0: any free port).
    public var port: UInt16
    /// The API of the HTTP server.
    public var api = API.async
    /// The file the HTTP server serves at `/file`.
    public var file: String?

    /// Parses `arguments` (without the program name), starting from `port`; a message says
    /// what is wrong.
    public init(_ arguments: [String], port: UInt16) throws(SocketError) {
        self.port = port
        var rest = arguments[...]
        while let flag = rest.popFirst() {
            guard let value = rest.popFirst() else { throw SocketError(.invalid("\(flag) needs a value")) }
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
            default:
                throw SocketError(.invalid("unknown option \(flag)"))
            }
        }
    }
}
