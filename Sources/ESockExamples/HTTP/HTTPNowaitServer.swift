import ESock
import SystemPackage

/// The HTTP/1.1 server of ``HTTPServer`` written Erlang style: one thread, one mailbox, every
/// socket call `nowait`, and a loop that waits for the select and completion messages (Erlang:
/// `socket:recv(S, 0, nowait)`, then `receive {'$socket', S, select | completion, Info}`). The
/// example behind `swift run esock-http --api nowait`.
///
/// Each connection has at most one operation outstanding: a send, a sendfile or a receive.
/// On the select backend a message says "call again"; on the completion backend it carries the
/// operation's result. Both are handled below, so the same loop runs on either backend.
///
/// ```swift
/// let server = try HTTPNowaitServer(port: 8080, site: HTTPSite())
/// server.run()   // on a thread of its own; server.stop() from another ends it
/// ```
public final class HTTPNowaitServer: Sendable {
    /// The listening socket.
    public let listener: Socket
    /// What is served.
    public let site: HTTPSite
    /// The bounds on each request.
    public let limits: HTTPLimits
    /// Where every message of every socket comes (the loop's `self()`); it also owns the
    /// listener and every connection, so that ``stop()`` closes them all.
    public let mailbox = Mailbox()

    /// Listens on 127.0.0.1:`port` (0: any free port) on `backend` (nil: the default).
    public init(port: UInt16 = 0, site: HTTPSite, limits: HTTPLimits = HTTPLimits(),
                backend: (any IOBackend)? = nil) throws(SocketError) {
        self.site = site
        self.limits = limits
        listener = try openLoopbackListener(port: port, backend: backend, owner: mailbox)
    }

    /// The port the server listens on.
    public var port: UInt16 { (try? listener.sockname().port) ?? 0 }

    /// Serves connections on the calling thread until ``stop()``.
    public func run() {
        var loop = Loop(server: self)
        loop.run()
    }

    /// Closes the listener and every connection (Erlang: the controlling process exits);
    /// ``run()`` returns. Call it from another thread.
    public func stop() {
        mailbox.end()
    }

    /// A connection and the state of its conversation.
    private final class Connection {
        let socket: Socket
        var session: HTTPSession
        /// What the last ``HTTPSession/respond()`` said to send, and how far it went.
        var outputs: [HTTPOutput] = []
        var sent = 0
        /// The handle of the outstanding operation: its message is the one to act on.
        var waiting: Handle?

        init(_ socket: Socket, _ session: HTTPSession) {
            self.socket = socket
            self.session = session
        }
    }

    /// The loop's state: touched only by the thread in ``run()``.
    private struct Loop {
        let server: HTTPNowaitServer
        var mailbox: Mailbox { server.mailbox }
        var connections: [UInt64: Connection] = [:]
        var accepting: Handle?

        init(server: HTTPNowaitServer) {
            self.server = server
        }

        mutating func run() {
            guard accept() else { return }
            while let message = mailbox.receive() {
                if message.socket == server.listener {
                    guard message.handle == accepting else { continue }
                    if case .completion(_, _, .accepted(let socket)) = message { started(socket) }
                    if case .abort = message { break }
                    guard accept() else { break }
                    continue
                }
                guard let c = connections[message.socket.id], message.handle == c.waiting else { continue }
                c.waiting = nil
                switch message {
                case .select:
                    break  // Call again: drive() repeats the operation that waited.
                case .completion(_, _, let status):
                    guard completed(c, status) else { close(c); continue }
                default:
                    close(c)
                    continue
                }
                drive(c)
            }
            for c in connections.values { try? c.socket.close() }
            connections = [:]
        }

        /// Accepts every pending connection; false when the listener is closed.
        mutating func accept() -> Bool {
            while true {
                do {
                    switch try server.listener.accept(nowait: mailbox) {
                    case .done(let socket):
                        started(socket)
                    case let pending:
                        accepting = pending.handle
                        return true
                    }
                } catch let error where error.reason == .closed {
                    return false
                } catch {
                    continue  // The client gave up before the accept (ECONNABORTED), or similar.
                }
            }
        }

        mutating func started(_ socket: Socket) {
            try? socket.setopt(.tcp(.nodelay), .bool(true))
            let c = Connection(socket, HTTPSession(site: server.site, limits: server.limits))
            connections[socket.id] = c
            drive(c)
        }

        /// Applies a completion message's result; false when the connection is to close.
        func completed(_ c: Connection, _ status: CompletionStatus) -> Bool {
            switch status {
            case .received(let data) where !data.isEmpty:
                c.session.received(data)
            case .sent:
                c.sent += 1
            case .sentFile(let n):
                guard case .file(_, _, let count) = c.outputs[c.sent], n == count else { return false }
                c.sent += 1
            default:
                return false  // The client closed (an empty receive) or the operation failed.
            }
            return true
        }

        /// Moves the connection on until an operation has to wait for a message.
        mutating func drive(_ c: Connection) {
            do {
                while true {
                    if c.sent < c.outputs.count {
                        guard try send(c) else { return }
                        continue
                    }
                    c.outputs = c.session.respond()
                    c.sent = 0
                    guard c.outputs.isEmpty else { continue }
                    switch try c.socket.recv(nowait: mailbox) {
                    case .done(let data):
                        c.session.received(data)
                    case let pending:
                        c.waiting = pending.handle
                        return
                    }
                }
            } catch {
                close(c)  // The client closed or reset the connection, or the server stopped.
            }
        }

        /// Starts the next output; true when it finished at once, false when it waits for a
        /// message (or the connection closed).
        mutating func send(_ c: Connection) throws(SocketError) -> Bool {
            switch c.outputs[c.sent] {
            case .bytes(let data, let more):
                switch try c.socket.send(data, flags: more ? .more : [], nowait: mailbox) {
                case .done:
                    c.sent += 1
                    return true
                case .select(let info, let rest):
                    c.outputs[c.sent] = .bytes(rest ?? data, more: more)  // Call again with the rest.
                    c.waiting = info.handle
                case .completion(let info):
                    c.waiting = info.handle
                }
            case .file(let file, let offset, let count):
                switch try c.socket.sendfile(FileDescriptor(rawValue: file.fd), offset: offset, count: count, nowait: mailbox) {
                case .done(let n):
                    guard n == count else { close(c); return false }
                    c.sent += 1
                    return true
                case .select(let info, let n):
                    let moved = n ?? 0  // Call again from where it stopped.
                    c.outputs[c.sent] = .file(file, offset: offset + Int64(moved), count: count - moved)
                    c.waiting = info.handle
                case .completion(let info):
                    c.waiting = info.handle
                }
            case .shutdownWrite:
                try c.socket.shutdown(.write)
                c.sent += 1
                return true
            case .close:
                close(c)
            }
            return false
        }

        mutating func close(_ c: Connection) {
            try? c.socket.close()
            connections[c.socket.id] = nil
        }
    }
}
