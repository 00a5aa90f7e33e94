import ESock

/// A Redis client over ESock's async calls: one connection, commands one at a time
/// (``send(_:)``) or pipelined (``pipeline(_:)``), replies parsed by ``RESPParser`` from
/// whatever pieces the socket delivers.
///
/// A client is used by one task at a time (it is not `Sendable`); open one per task for
/// concurrent use, and ``close()`` it when done (ESock closes nothing in a deinit: a client
/// dropped unclosed leaves its socket open). Its calls run on the caller's executor: on the backend's own
/// (`Task(executorPreference: backend.executor)`), a reply and the code that reads it stay on one thread.
///
/// ```swift
/// let redis = try await RedisClient.connect(to: .loopback(port: 6379))
/// try await redis.set("greeting", Array("hello".utf8))
/// let value = try await redis.get("greeting")            // "hello" as bytes
/// let replies = try await redis.pipeline([.get("a"), .get("b"), RedisCommand("INCR", "n")])
/// redis.close()
/// ```
public final class RedisClient {
    /// The connection.
    public let socket: Socket
    private var parser: RESPParser

    /// A client on a connected `socket`.
    public init(socket: Socket, limits: RESPParser.Limits = RESPParser.Limits()) {
        self.socket = socket
        parser = RESPParser(limits: limits)
    }

    /// Connects to the server at `address` (Erlang: `socket:open/3`, `socket:connect/2`) on
    /// `backend` (nil: the default).
    public nonisolated(nonsending) static func connect(to address: SocketAddress,
                                                       backend: (any IOBackend)? = nil) async throws(RedisError) -> RedisClient {
        let socket: Socket
        do {
            socket = try Socket.open(address.domain, .stream, .tcp, backend: backend)
        } catch {
            throw .socket(error)
        }
        do {
            try await socket.connect(address)
            try socket.setopt(.tcp(.nodelay), .bool(true))
        } catch {
            try? socket.close()
            throw .socket(error)
        }
        return RedisClient(socket: socket)
    }

    /// Closes the connection (Erlang: `socket:close/1`).
    public func close() {
        try? socket.close()
    }

    /// Sends `command` and waits for its reply. An error reply is returned as
    /// ``RESPValue/error(_:)``, not thrown.
    public nonisolated(nonsending) func send(_ command: RedisCommand) async throws(RedisError) -> RESPValue {
        var out: [UInt8] = []
        command.encode(into: &out)
        do {
            try await socket.send(out)
        } catch {
            throw .socket(error)
        }
        return try await reply()
    }

    /// Sends every command without waiting for replies, and returns their replies in order
    /// (error replies included, as values). The commands are sent by a child task while this
    /// one reads the replies: a server that stops reading while its replies are not read
    /// (its send buffer full) cannot stall a long pipeline.
    public nonisolated(nonsending) func pipeline(_ commands: [RedisCommand]) async throws(RedisError) -> [RESPValue] {
        var out: [UInt8] = []
        for command in commands { command.encode(into: &out) }
        let socket = self.socket
        async let sending: [UInt8] = socket.send(out)
        var replies: [RESPValue] = []
        replies.reserveCapacity(commands.count)
        // On an error here, leaving the scope cancels the send (Erlang: `socket:cancel/2`).
        while replies.count < commands.count { replies.append(try await reply()) }
        do {
            _ = try await sending
        } catch let error as SocketError {
            throw .socket(error)
        } catch {
            throw .socket(SocketError(.invalid("\(error)")))
        }
        return replies
    }

    /// Waits for the next reply (for a command sent with ``send(_:)`` or ``pipeline(_:)`` it
    /// is read by them; this is for the replies of `SUBSCRIBE` and the like).
    public nonisolated(nonsending) func reply() async throws(RedisError) -> RESPValue {
        while true {
            do {
                if let value = try parser.next() { return value }
            } catch {
                close()
                throw .protocolError(error)
            }
            do {
                parser.append(try await socket.recv())
            } catch {
                throw .socket(error)
            }
        }
    }

    /// `SET key value`, expecting `+OK`.
    public nonisolated(nonsending) func set(_ key: String, _ value: [UInt8]) async throws(RedisError) {
        let reply = try await send(.set(key, value))
        guard reply == .simpleString("OK") else { throw Self.failure(reply) }
    }

    /// `GET key`: the value, or nil when the key does not exist.
    public nonisolated(nonsending) func get(_ key: String) async throws(RedisError) -> [UInt8]? {
        let reply = try await send(.get(key))
        guard case .bulkString(let value) = reply else { throw Self.failure(reply) }
        return value
    }

    /// The error for a reply that is not the one expected: the server's error, or `unexpected`.
    public static func failure(_ reply: RESPValue) -> RedisError {
        if case .error(let message) = reply { return .server(message) }
        return .unexpected(reply)
    }
}
