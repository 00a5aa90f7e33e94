import ESock
import ESockExamples
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// FNV-1a over the bytes: the checksum a download is compared with.
func checksum(_ bytes: [UInt8]) -> UInt64 {
    bytes.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
}

func readWholeFile(_ path: String) -> [UInt8]? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = read(fd, &chunk, chunk.count)
        if n <= 0 { break }
        out += chunk[..<n]
    }
    return out
}

/// Writes `bytes` to a new file at `path`.
func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    try #require(fd >= 0)
    defer { close(fd) }
    try #require(bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == bytes.count)
}

/// An HTTP example server running for one test: the async form on its backend's executor (as
/// `esock-http --api async` runs it), or the nowait form on a thread of its own, started at once.
struct RunningHTTPServer {
    let port: UInt16
    private let stopServer: @Sendable () -> Void
    private let serving: Task<Void, Never>

    init(_ api: ExampleOptions.API, _ backend: Backend, site: HTTPSite, limits: HTTPLimits = HTTPLimits()) throws {
        let io = try backend.instance()
        switch api {
        case .async:
            let server = try HTTPServer(site: site, limits: limits, backend: io)
            port = server.port
            stopServer = server.stop
            serving = Task(executorPreference: io.executor) { await server.run() }
        case .nowait:
            let server = try HTTPNowaitServer(site: site, limits: limits, backend: io)
            port = server.port
            stopServer = server.stop
            serving = startedOnOwnThread { server.run() }
        }
    }

    /// Stops the server and waits until it has ended.
    func stop() async {
        stopServer()
        await serving.value
    }

    func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }
}

/// A response as the tests read it back.
struct ReadResponse {
    var status: Int
    var headers: [String: String]
    var body: [UInt8]
}

/// Splits what a server sent into its responses; `headOnly` are the indices of responses to
/// HEAD requests (a Content-Length, no body).
func readResponses(_ bytes: [UInt8], headOnly: Set<Int> = []) throws -> [ReadResponse] {
    var responses: [ReadResponse] = []
    var i = 0
    let blank = Array("\r\n\r\n".utf8)
    while i < bytes.count {
        let end = try #require((i...(bytes.count - 4)).first { Array(bytes[$0..<($0 + 4)]) == blank },
                               "no end of head in \(String(decoding: bytes[i...], as: UTF8.self))")
        let lines = String(decoding: bytes[i..<end], as: UTF8.self).split(separator: "\r\n")
        let statusLine = lines[0].split(separator: " ")
        try #require(statusLine.count >= 2 && statusLine[0] == "HTTP/1.1", "status line \(lines[0])")
        var response = ReadResponse(status: try #require(Int(statusLine[1])), headers: [:], body: [])
        for line in lines.dropFirst() {
            let colon = try #require(line.firstIndex(of: ":"))
            response.headers[line[..<colon].lowercased()] = String(line[line.index(after: colon)...].drop { $0 == " " })
        }
        i = end + 4
        if response.status >= 200 && !headOnly.contains(responses.count) {
            let length = try #require(Int(response.headers["content-length"] ?? ""), "no Content-Length")
            try #require(bytes.count - i >= length, "short body")
            response.body = Array(bytes[i..<(i + length)])
            i += length
        }
        responses.append(response)
    }
    return responses
}

/// Connects to the server with an ESock socket, sends `request` in pieces of `piece` bytes
/// (0: in one send), and receives until the server closes; everything it sent.
func exchange(port: UInt16, backend: Backend, _ request: [UInt8], piece: Int = 0) async throws -> [UInt8] {
    let s = try Socket.open(.inet, .stream, .tcp, backend: backend.instance())
    defer { try? s.close() }
    try await s.connect(.loopback(port: port))
    try s.setopt(.tcp(.nodelay), .bool(true))
    let step = piece == 0 ? max(request.count, 1) : piece
    for first in stride(from: 0, to: request.count, by: step) {
        try await s.send(Array(request[first..<min(request.count, first + step)]))
    }
    var received: [UInt8] = []
    while true {
        let more: [UInt8]
        do {
            more = try await s.recv()
        } catch {
            guard error.reason == .closed else { throw error }
            return received
        }
        received += more
    }
}

/// Runs curl (bounded by --max-time) and returns its exit status and output.
func curl(_ arguments: [String]) async throws -> (status: Int32, output: String) {
    let process = try TestProcess(["curl", "-sS", "--max-time", "30"] + arguments)
    let status = await process.exitStatus()
    return (status, process.printedText())
}

@Suite("examples: echo server, HTTP server (async and nowait) with curl, Redis client with redis-server",
       .leakChecked, .timeLimit(.minutes(5)))
struct ExamplesTests {
    static let curlPath = findExecutable("curl")
    static let redisServerPath = findExecutable("redis-server")
    static let apis: [ExampleOptions.API] = [.async, .nowait]

    /// A redis-server of its own for one test, on a free loopback port, persisting nothing.
    static func startRedis() async throws -> (process: TestProcess, port: UInt16) {
        try await startServer(ready: "Ready to accept connections") {
            ["redis-server", "--port", "\($0)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"]
        }
    }

    @Test("ServedFile: close() closes its descriptor once; dropping one closes nothing (no deinit does I/O)")
    func servedFileClosesOnlyWhenTold() throws {
        let path = "/tmp/esock-served-\(getpid()).bin"
        defer { unlink(path) }
        try writeFile(path, pattern(1000))
        var dropped: ServedFile? = try ServedFile(path: path)
        let droppedFD = try #require(dropped?.fd)
        dropped = nil
        // Still open after the last reference went: the program closes it.
        #expect(fcntl(droppedFD, F_GETFD) >= 0)
        #expect(close(droppedFD) == 0)

        let file = try ServedFile(path: path)
        #expect(file.size == 1000)
        file.close()
        #expect(fcntl(file.fd, F_GETFD) == -1 && errno == EBADF)
        // A second close does not close whatever reused the number.
        let other = open(path, O_RDONLY | O_CLOEXEC)
        try #require(other >= 0)
        defer { close(other) }
        file.close()
        #expect(fcntl(other, F_GETFD) >= 0)
        #expect(throws: SocketError.self) { try ServedFile(path: "/tmp") }
    }

    @Test(arguments: Backend.allCases)
    func echoServerEchoes(backend: Backend) async throws {
        let server = try EchoServer(port: 0, backend: backend.instance())
        let serving = Task { await server.run() }
        let clients = try (0..<8).map { _ in try Socket.open(.inet, .stream, .tcp, backend: backend.instance()) }
        for c in clients { try await c.connect(.loopback(port: server.port)) }
        for (i, c) in clients.enumerated() {
            let data = pattern(100_000, seed: i)
            try await c.send(data)
            #expect(try await c.recv(length: data.count) == data)
        }
        for c in clients { try c.close() }
        server.stop()
        await serving.value
    }

    @Test("curl: several URLs over one kept-alive connection; the file by sendfile arrives whole",
          .enabled(if: curlPath != nil, "curl is not installed (apt-get install curl)"),
          arguments: Backend.allCases, apis)
    func curlKeepsTheConnection(backend: Backend, api: ExampleOptions.API) async throws {
        let content = pattern(5 << 20, seed: 3)
        let base = "/tmp/esock-http-\(getpid())-\(backend.rawValue)-\(api)"
        defer { for suffix in [".bin", ".copy", ".1", ".2"] { unlink(base + suffix) } }
        try writeFile(base + ".bin", content)
        let file = try ServedFile(path: base + ".bin")
        defer { file.close() }
        let server = try RunningHTTPServer(api, backend, site: HTTPSite(greeting: "hello\n", file: file))

        let (status, output) = try await curl(["-w", "%{http_code} %{num_connects} %{size_download}\\n",
                                               "-o", base + ".1", server.url("/"),
                                               "-o", base + ".copy", server.url("/file"),
                                               "-o", base + ".2", server.url("/nothing-here")])
        #expect(status == 0, "\(output)")
        // One connection made for the first URL, reused (0 new) for the others.
        #expect(output.split(separator: "\n") == ["200 1 6", "200 0 \(content.count)", "404 0 10"])
        #expect(readWholeFile(base + ".1") == Array("hello\n".utf8))
        let copy = try #require(readWholeFile(base + ".copy"))
        #expect(copy.count == content.count)
        #expect(checksum(copy) == checksum(content))
        await server.stop()
    }

    @Test("curl: HTTP/1.0 and Connection: close end the connection after each response; 1.0 keep-alive keeps it",
          .enabled(if: curlPath != nil, "curl is not installed (apt-get install curl)"),
          arguments: Backend.allCases, apis)
    func curlEndsConnectionsWhenAsked(backend: Backend, api: ExampleOptions.API) async throws {
        let server = try RunningHTTPServer(api, backend, site: HTTPSite())
        let twice = ["-w", "%{http_code} %{num_connects}\\n", "-o", "/dev/null", server.url("/"), "-o", "/dev/null", server.url("/")]
        for (flags, expected) in [(["--http1.0"], ["200 1", "200 1"]),
                                  (["-H", "Connection: close"], ["200 1", "200 1"]),
                                  (["--http1.0", "-H", "Connection: keep-alive"], ["200 1", "200 0"])] {
            let (status, output) = try await curl(flags + twice)
            #expect(status == 0, "\(output)")
            #expect(output.split(separator: "\n").map(String.init) == expected, "curl \(flags)")
        }
        await server.stop()
    }

    @Test("curl: POST /echo sends the body back",
          .enabled(if: curlPath != nil, "curl is not installed (apt-get install curl)"),
          arguments: Backend.allCases, apis)
    func curlPostsABody(backend: Backend, api: ExampleOptions.API) async throws {
        let body = pattern(300_000, seed: 5)
        let base = "/tmp/esock-http-post-\(getpid())-\(backend.rawValue)-\(api)"
        defer { for suffix in [".body", ".echo"] { unlink(base + suffix) } }
        try writeFile(base + ".body", body)
        let server = try RunningHTTPServer(api, backend, site: HTTPSite())
        let (status, output) = try await curl(["-w", "%{http_code}", "--data-binary", "@" + base + ".body",
                                               "-o", base + ".echo", server.url("/echo")])
        #expect(status == 0 && output == "200", "\(output)")
        #expect(readWholeFile(base + ".echo") == body)
        await server.stop()
    }

    @Test("pipelined requests in one send, and a byte at a time, are answered in order; after Connection: close nothing more",
          arguments: Backend.allCases, apis)
    func pipelinedRequests(backend: Backend, api: ExampleOptions.API) async throws {
        let content = pattern(1 << 20, seed: 9)
        let path = "/tmp/esock-http-pipe-\(getpid())-\(backend.rawValue)-\(api).bin"
        defer { unlink(path) }
        try writeFile(path, content)
        let file = try ServedFile(path: path)
        defer { file.close() }
        let server = try RunningHTTPServer(api, backend, site: HTTPSite(greeting: "hi\n", file: file))
        let requests = "GET / HTTP/1.1\r\nHost: t\r\n\r\n"
            + "HEAD /file HTTP/1.1\r\nHost: t\r\n\r\n"
            + "GET /file HTTP/1.1\r\nHost: t\r\n\r\n"
            + "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello world"
            + "GET /missing?x=1 HTTP/1.1\r\nhost: t\r\n\r\n"
            + "DELETE / HTTP/1.1\r\nHost: t\r\n\r\n"
            + "GET http://t/?q HTTP/1.1\nHost: t\n\n"
            + "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
            + "GET / HTTP/1.1\r\nHost: t\r\n\r\n"
        for piece in [0, 1, 7] {
            let bytes = try await exchange(port: server.port, backend: backend, Array(requests.utf8), piece: piece)
            let responses = try readResponses(bytes, headOnly: [1])
            #expect(responses.map(\.status) == [200, 200, 200, 200, 404, 405, 200, 200], "pieces of \(piece)")
            guard responses.count == 8 else { continue }
            #expect(responses[0].body == Array("hi\n".utf8))
            #expect(responses[1].headers["content-length"] == "\(content.count)" && responses[1].body.isEmpty)
            #expect(responses[2].body.count == content.count && checksum(responses[2].body) == checksum(content))
            #expect(responses[3].body == Array("hello world".utf8))
            #expect(responses[5].headers["allow"] == "GET, HEAD")
            #expect(responses[6].body == Array("hi\n".utf8))
            #expect(responses[7].headers["connection"] == "close")
            #expect(responses.dropLast().allSatisfy { $0.headers["connection"] == nil })
        }
        await server.stop()
    }

    @Test("stop() closes the listener and the open connections; the server ends", arguments: Backend.allCases, apis)
    func stopWithConnectionsOpen(backend: Backend, api: ExampleOptions.API) async throws {
        let server = try RunningHTTPServer(api, backend, site: HTTPSite())
        let idle = try Socket.open(.inet, .stream, .tcp, backend: backend.instance())
        defer { try? idle.close() }
        try await idle.connect(.loopback(port: server.port))
        try await idle.send(Array("GET / HTTP/1.1\r\nHost: t\r\n\r\n".utf8))
        #expect(try readResponses(try await idle.recv()).map(\.status) == [200])
        await server.stop()
        // The server closed the kept-alive connection: the client reads its end.
        await #expect(throws: SocketError.closed) { _ = try await idle.recv() }
    }

    @Test("Expect: 100-continue gets 100 Continue before the body is sent", arguments: Backend.allCases, apis)
    func expectContinue(backend: Backend, api: ExampleOptions.API) async throws {
        let server = try RunningHTTPServer(api, backend, site: HTTPSite())
        let s = try Socket.open(.inet, .stream, .tcp, backend: backend.instance())
        defer { try? s.close() }
        try await s.connect(.loopback(port: server.port))
        try await s.send(Array("POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n".utf8))
        let interim = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)
        #expect(try await s.recv(length: interim.count) == interim)
        try await s.send(Array("hello".utf8) + Array("GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".utf8))
        var bytes: [UInt8] = []
        while let more = try? await s.recv() { bytes += more }
        let responses = try readResponses(bytes)
        #expect(responses.map(\.status) == [200, 200])
        #expect(responses.first?.body == Array("hello".utf8))
        await server.stop()
    }

    @Test("a malformed or oversized request is answered 400/413/431/501/505 and the connection ends",
          arguments: Backend.allCases, apis)
    func badRequests(backend: Backend, api: ExampleOptions.API) async throws {
        var limits = HTTPLimits()
        limits.maxHeadBytes = 4096
        limits.maxBodyBytes = 1000
        let server = try RunningHTTPServer(api, backend, site: HTTPSite(), limits: limits)
        let ok = "GET / HTTP/1.1\r\nHost: t\r\n\r\n"
        let cases: [(String, [Int])] = [
            ("GET /\r\n\r\n", [400]),
            ("GET / HTTP/1.1\r\n\r\n", [400]),
            ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", [400]),
            ("GET / HTTP/1.1\r\nHost : t\r\n\r\n", [400]),
            ("GET / HTTP/1.1\r\nHost: t\r\nX-A: 1\r\n folded\r\n\r\n", [400]),
            ("GET / HTTP/1.1\r\nHost: t\r\nX-A: a\u{1}b\r\n\r\n", [400]),
            ("GET  / HTTP/1.1\r\nHost: t\r\n\r\n", [400]),
            ("GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 1x\r\n\r\n", [400]),
            ("GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", [400]),
            ("GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999999999999999\r\n\r\n", [413]),
            ("GET / HTTP/2.0\r\nHost: t\r\n\r\n", [505]),
            ("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", [501]),
            ("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1001\r\n\r\n" + String(repeating: "b", count: 1001), [413]),
            ("GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + String(repeating: "a", count: 10_000) + "\r\n\r\n", [431]),
            (ok + ok + "BAD\r\n\r\n" + ok, [200, 200, 400]),
        ]
        for (request, statuses) in cases {
            let bytes = try await exchange(port: server.port, backend: backend, Array(request.utf8))
            let responses = try readResponses(bytes)
            #expect(responses.map(\.status) == statuses, "\(request.prefix(60))")
            #expect(responses.last?.headers["connection"] == "close", "\(request.prefix(60))")
        }
        await server.stop()
    }

    @Test("esock-http runs as its README says, with curl", .enabled(if: curlPath != nil, "curl is not installed (apt-get install curl)"),
          arguments: ["select", "completion"], apis)
    func httpExecutable(backend: String, api: ExampleOptions.API) async throws {
        let file = "/tmp/esock-http-exe-\(getpid())-\(backend)-\(api).bin"
        let content = pattern(200_000, seed: 1)
        defer { unlink(file) }
        try writeFile(file, content)
        let exe = try builtExecutable("esock-http")
        let (server, port) = try await startServer(ready: "http://127.0.0.1:") {
            [exe, "--backend", backend, "--api", "\(api)", "--port", "\($0)", "--file", file]
        }
        let (status, output) = try await curl(["-w", "%{http_code} %{num_connects}\\n", "-o", file + ".1", "http://127.0.0.1:\(port)/",
                                               "-o", file + ".2", "http://127.0.0.1:\(port)/file"])
        defer { unlink(file + ".1"); unlink(file + ".2") }
        #expect(status == 0 && output == "200 1\n200 0\n", "\(output)")
        #expect(String(decoding: readWholeFile(file + ".1") ?? [], as: UTF8.self) == "Hello from ESock (\(backend) backend, \(api) API)\n")
        #expect(readWholeFile(file + ".2") == content)
        await server.terminate()
        #expect(server.printedText().hasPrefix("http://127.0.0.1:\(port)/"))
    }

    @Test("Redis client: SET/GET of 10,000 keys one at a time and pipelined against redis-server; every reply type",
          .enabled(if: redisServerPath != nil, "redis-server is not installed (apt-get install redis-server)"),
          arguments: Backend.allCases)
    func redisClient(backend: Backend) async throws {
        let (redis, port) = try await Self.startRedis()
        let client = try await RedisClient.connect(to: .loopback(port: port), backend: backend.instance())

        let bench = RedisBench(keys: 10_000, valueSize: 64)
        let phases = try await bench.run(on: client)
        #expect(phases.map(\.commands) == [10_000, 10_000, 10_000, 10_000, 10_000])
        // Values of 100 KiB in pipelines of 7 (the last one short): replies in many pieces.
        let big = RedisBench(keys: 30, valueSize: 100 << 10, depth: 7)
        #expect(try await big.run(on: client).count == 5)

        #expect(try await client.send(RedisCommand("PING")) == .simpleString("PONG"))
        guard case .error(let message) = try await client.send(RedisCommand("NO-SUCH-COMMAND")) else {
            Issue.record("no error reply"); return
        }
        #expect(message.hasPrefix("ERR"))
        #expect(try await client.send(RedisCommand("INCRBY", "esock:n", "41")) == .integer(41))
        #expect(try await client.send(RedisCommand("INCRBY", "esock:n", "-9223372036854775807")) == .integer(41 - Int64.max))
        #expect(try await client.get("esock:missing") == nil)
        let binary = (0..<256).map { UInt8($0) } + Array("\r\n$-1\r\n".utf8)
        try await client.set("esock:binary", binary)
        #expect(try await client.get("esock:binary") == binary)
        #expect(try await client.send(RedisCommand("RPUSH", "esock:list", "a", "", "c")) == .integer(3))
        #expect(try await client.send(RedisCommand("LRANGE", "esock:list", "0", "-1"))
                == .array([.bulkString(Array("a".utf8)), .bulkString([]), .bulkString(Array("c".utf8))]))
        #expect(try await client.send(RedisCommand("BLPOP", "esock:empty", "0.01")) == .array(nil))
        // Nested arrays: SCAN answers [cursor, [keys]].
        guard case .array(let scan?) = try await client.send(RedisCommand("SCAN", "0", "MATCH", "esock:list", "COUNT", "1000")),
              scan.count == 2, case .array(let keys?) = scan[1] else {
            Issue.record("SCAN did not answer [cursor, [keys]]"); return
        }
        #expect(keys == [.bulkString(Array("esock:list".utf8))])
        // A pipeline with an error reply in the middle goes on.
        let replies = try await client.pipeline([.set("esock:s", Array("1".utf8)), RedisCommand("INCR", "esock:s"),
                                                 RedisCommand("LPUSH", "esock:s", "x"), .get("esock:s")])
        #expect(replies.count == 4)
        #expect(replies.first == .simpleString("OK") && replies.dropFirst().first == .integer(2))
        if case .error(let wrongType)? = replies.dropFirst(2).first { #expect(wrongType.hasPrefix("WRONGTYPE")) } else {
            Issue.record("no WRONGTYPE error: \(replies)")
        }
        #expect(replies.last == .bulkString(Array("2".utf8)))
        client.close()
        await redis.terminate()
    }

    @Test("esock-redis-bench runs as its README says", .enabled(if: redisServerPath != nil, "redis-server is not installed (apt-get install redis-server)"),
          arguments: ["select", "completion"])
    func redisBenchExecutable(backend: String) async throws {
        let (redis, port) = try await Self.startRedis()
        let bench = try TestProcess([try builtExecutable("esock-redis-bench"), "--backend", backend, "--port", "\(port)",
                                     "--keys", "2000", "--depth", "300"])
        let status = await bench.exitStatus()
        let output = bench.printedText()
        #expect(status == 0, "\(output)")
        #expect(output.contains("every value read back was the value written"), "\(output)")
        #expect(output.contains("GET, pipelined       2000 commands"), "\(output)")
        await redis.terminate()
    }
}
