import ESock
import ESockExamples
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Runs a program to its end (bounded), returning its exit status; the wait polls, so no thread
/// of the task pool is blocked while the server under test needs it.
func runProgram(_ argv: [String]) async throws -> Int32 {
    var pid: pid_t = 0
    var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
    defer { cArgs.forEach { free($0) } }
    let rc = posix_spawn(&pid, argv[0], nil, nil, &cArgs, environ)
    try #require(rc == 0, "cannot start \(argv[0])")
    let deadline = ContinuousClock.now + .seconds(60)
    var status: Int32 = 0
    while waitpid(pid, &status, WNOHANG) == 0 {
        guard ContinuousClock.now < deadline else {
            kill(pid, SIGKILL)
            _ = waitpid(pid, &status, 0)
            Issue.record("\(argv[0]) did not finish")
            return -1
        }
        await Task.yield()
    }
    return (status >> 8) & 0xff
}

/// FNV-1a over the bytes: the checksum the download is compared with.
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

@Suite("examples: async echo server and sendfile file server", .leakChecked, .timeLimit(.minutes(2)))
struct ExamplesTests {
    @Test(.requires(.curl), arguments: Backend.allCases)
    func curlDownloadsWhatTheFileServerSends(backend: Backend) async throws {
        let io = try backend.instance()
        let curl = try #require(Machine.curlPath)
        let content = pattern(5 << 20, seed: 3)
        let source = "/tmp/esock-fileserver-\(getpid())-\(backend.rawValue).bin"
        let copy = source + ".copy"
        let fd = open(source, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        try #require(fd >= 0)
        defer { unlink(source); unlink(copy) }
        try #require(content.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == content.count)
        close(fd)

        let server = try FileServer(path: source, port: 0, backend: io)
        let serving = Task { await server.run() }
        for _ in 0..<2 {
            unlink(copy)
            let status = try await runProgram([curl, "-sS", "--max-time", "30", "-o", copy,
                                               "http://127.0.0.1:\(server.port)/"])
            #expect(status == 0)
            let downloaded = try #require(readWholeFile(copy))
            #expect(downloaded.count == content.count)
            #expect(checksum(downloaded) == checksum(content))
        }
        server.stop()
        await serving.value
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
}
