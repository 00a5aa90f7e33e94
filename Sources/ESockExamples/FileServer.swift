#if canImport(Glibc)
import Glibc
#endif
import ESock
import SystemPackage

/// A minimal HTTP/1.1 file server written with ESock's async calls: every GET is answered with
/// the one file it serves, sent with `sendfile` (Erlang: `socket:sendfile/5`), then the connection
/// closes. The example behind `swift run esock-fileserver`; `curl http://127.0.0.1:PORT/` downloads it.
public final class FileServer: Sendable {
    /// The listening socket.
    public let listener: Socket
    private let path: String

    /// Serves the file at `path` on 127.0.0.1:`port` (0: any free port) on `backend` (nil: the default).
    public init(path: String, port: UInt16 = 0, backend: (any IOBackend)? = nil) throws(SocketError) {
        guard access(path, R_OK) == 0 else { throw SocketError(.invalid("cannot read \(path)")) }
        self.path = path
        listener = try Socket.open(.inet, .stream, .tcp, backend: backend)
        try listener.bind(.loopback(port: port))
        try listener.listen(backlog: 1024)
    }

    /// The port the server listens on.
    public var port: UInt16 { (try? listener.sockname().port) ?? 0 }

    /// Serves requests until the listener is closed (``stop()``).
    public func run() async {
        await withDiscardingTaskGroup { group in
            while true {
                let connection: Socket
                do {
                    connection = try await listener.accept()
                } catch let error as SocketError where error.reason == .closed {
                    return
                } catch {
                    continue
                }
                group.addTask { [path] in
                    defer { try? connection.close() }
                    try? await Self.serve(connection, path)
                }
            }
        }
    }

    /// Closes the listener; ``run()`` returns once the transfers in progress end.
    public func stop() {
        try? listener.close()
    }

    private static func serve(_ connection: Socket, _ path: String) async throws(SocketError) {
        // Read the request head; only its end matters here.
        var head: [UInt8] = []
        let end = Array("\r\n\r\n".utf8)
        while !head.ends(with: end) {
            guard head.count < 16 << 10 else { return }
            head += try await connection.recv()
        }
        let file: FileDescriptor
        do {
            file = try FileDescriptor.open(path, .readOnly, options: .closeOnExec)
        } catch {
            try await connection.send(Array("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8))
            return
        }
        defer { try? file.close() }
        // sendfile reads from the offset it is given, so the seek to the end does not disturb it.
        guard let size = try? file.seek(offset: 0, from: .end) else { return }
        let response = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
            + "Content-Length: \(size)\r\nConnection: close\r\n\r\n"
        try await connection.send(Array(response.utf8))
        if size > 0 { try await connection.sendfile(file, offset: 0, count: Int(size)) }
        try connection.shutdown(.write)
    }
}

extension Array where Element == UInt8 {
    fileprivate func ends(with suffix: [UInt8]) -> Bool {
        count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix
    }
}
