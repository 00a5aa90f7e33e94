import ESock

/// An echo server written with ESock's async calls: a task per connection, every byte received
/// is sent back. The example behind `swift run esock-echo`.
public final class EchoServer: Sendable {
    /// The listening socket.
    public let listener: Socket

    /// Opens a listener on 127.0.0.1:`port` (0: any free port) on `backend` (nil: the default).
    public init(port: UInt16 = 0, backend: (any IOBackend)? = nil) throws(SocketError) {
        listener = try openLoopbackListener(port: port, backend: backend)
    }

    /// The port the server listens on.
    public var port: UInt16 { (try? listener.sockname().port) ?? 0 }

    /// Serves connections until the listener is closed (``stop()``).
    public func run() async {
        await serveConnections(of: listener) { connection in
            defer { try? connection.close() }
            while let data = try? await connection.recv(), !data.isEmpty {
                guard (try? await connection.send(data)) != nil else { return }
            }
        }
    }

    /// Closes the listener; ``run()`` returns once the open connections end.
    public func stop() {
        try? listener.close()
    }
}
