import ESock
import SystemPackage

/// An HTTP/1.1 server written with ESock's async calls: a task per connection, keep-alive and
/// pipelining, `sendfile` for the file (see ``HTTPSite`` for what it serves). The example
/// behind `swift run esock-http --api async`.
///
/// Run it on the backend's own thread, so that each socket message and the task it resumes
/// stay on one thread (docs/architecture.md, "Async calls"); the connection tasks inherit it:
///
/// ```swift
/// let server = try HTTPServer(port: 8080, site: HTTPSite(file: try ServedFile(path: "big.iso")))
/// await Task(executorPreference: try ESock.defaultBackend().executor) { await server.run() }.value
/// ```
public final class HTTPServer: Sendable {
    /// The listening socket.
    public let listener: Socket
    /// What is served.
    public let site: HTTPSite
    /// The bounds on each request.
    public let limits: HTTPLimits
    /// Owns the listener and every connection, so that ``stop()`` closes them all.
    private let owner = Mailbox()

    /// Listens on 127.0.0.1:`port` (0: any free port) on `backend` (nil: the default).
    public init(port: UInt16 = 0, site: HTTPSite, limits: HTTPLimits = HTTPLimits(),
                backend: (any IOBackend)? = nil) throws(SocketError) {
        self.site = site
        self.limits = limits
        listener = try openLoopbackListener(port: port, backend: backend, owner: owner)
    }

    /// The port the server listens on.
    public var port: UInt16 { (try? listener.sockname().port) ?? 0 }

    /// Serves connections until ``stop()``; returns when every connection has ended.
    public func run() async {
        await serveConnections(of: listener) { connection in await self.serve(connection) }
    }

    /// Closes the listener and every connection (Erlang: the controlling process exits).
    public func stop() {
        owner.end()
    }

    /// One connection: answer what came, receive more, until the client or the server ends it.
    private func serve(_ connection: Socket) async {
        defer { try? connection.close() }
        try? connection.setopt(.tcp(.nodelay), .bool(true))
        var session = HTTPSession(site: site, limits: limits)
        do {
            while true {
                for output in session.respond() {
                    switch output {
                    case .bytes(let data, let more):
                        try await connection.send(data, flags: more ? .more : [])
                    case .file(let file, let offset, let count):
                        guard try await connection.sendfile(FileDescriptor(rawValue: file.fd), offset: offset, count: count) == count else { return }
                    case .shutdownWrite:
                        try connection.shutdown(.write)
                    case .close:
                        return
                    }
                }
                session.received(try await connection.recv())
            }
        } catch {
            // The client closed or reset the connection, or stop() closed it.
        }
    }
}
