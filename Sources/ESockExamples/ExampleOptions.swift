import ESock

/// The command line of the example servers: `--backend select|completion|auto`, `--port N`,
/// and for the file server `--file PATH`.
public struct ExampleOptions: Sendable {
    /// The backend asked for; nil: the process default (ESOCK_IO_BACKEND, else auto).
    public var backend: BackendChoice?
    /// The port to listen on (0: any free port).
    public var port: UInt16 = 7000
    /// The file to serve (file server).
    public var file: String?

    /// Parses `arguments` (without the program name); a message says what is wrong.
    public init(_ arguments: [String]) throws(SocketError) {
        var rest = arguments[...]
        while let flag = rest.popFirst() {
            guard let value = rest.popFirst() else { throw SocketError(.invalid("\(flag) needs a value")) }
            switch flag {
            case "--backend":
                guard let b = BackendChoice(rawValue: value) else { throw SocketError(.invalid("backend \(value)")) }
                backend = b
            case "--port":
                guard let p = UInt16(value) else { throw SocketError(.invalid("port \(value)")) }
                port = p
            case "--file":
                file = value
            default:
                throw SocketError(.invalid("unknown option \(flag)"))
            }
        }
    }
}
