import ESock
import Testing
#if canImport(Glibc)
import Glibc
#endif

// The code of the documentation's articles (Sources/ESock/ESock.docc), compiled and run here on
// every backend, so that the docs cannot rot. Every ```swift block of an article appears in
// this file line for line (`everySnippetIsHere` checks it), with one difference: where an article
// opens a socket on the default backend, the test passes the backend under test (`, backend: io`),
// an argument whose default is the article's form. Lines between the blocks are the tests' own.

// MARK: GettingStarted.md, "A first server"

/// Echoes what `connection` receives until its peer closes it, then closes it.
func echo(_ connection: Socket) throws(SocketError) {
    defer { try? connection.close() }
    while true {
        let data: [UInt8]
        do {
            data = try connection.recv(timeout: .seconds(30))
        } catch where error.reason == .closed {
            return                                  // the peer closed its side: end of stream
        }
        try connection.send(data, timeout: .seconds(30))
    }
}

/// Serves one connection at a time until `listener` is closed.
func serve(_ listener: Socket) {
    while let connection = try? listener.accept() {
        try? echo(connection)
    }
}

// MARK: ChoosingAnAPI.md, "Nowait calls and a mailbox" (and ErlangMapping.md)

/// Receives what is available through the nowait path, on either backend: Erlang's
/// `socket:recv(Socket, 0, nowait)` and the message that follows.
func recvNowait(_ socket: Socket, _ mailbox: Mailbox) throws(SocketError) -> [UInt8] {
    while true {
        switch try socket.recv(nowait: mailbox) {
        case .done(let data):                             // {ok, Data}: it was there, no message follows
            return data
        case .select(let info, _):                        // {select, SelectInfo}
            _ = mailbox.receive(handle: info.handle)      // {'$socket', S, select, Ref}: call again
        case .completion(let info):                       // {completion, CompletionInfo}
            switch mailbox.receive(handle: info.handle) { // {'$socket', S, completion, {Ref, Status}}
            case .completion(_, _, .received(let data))?: return data
            case .completion(_, _, .failed(let error))?, .abort(_, _, let error)?: throw error
            default: throw .invalid("no message for \(info.handle)")
            }
        }
    }
}

/// Echoes every connection `listener` accepts, in one loop of nowait calls and one mailbox,
/// until `listener` is closed.
func serveNowait(_ listener: Socket) {
    let mailbox = Mailbox()
    var connections: Set<Socket> = []

    // Echoes what `connection` has until it must wait: then a message will say more.
    func receive(_ connection: Socket) {
        while true {
            do {
                switch try connection.recv(nowait: mailbox) {
                case .done(let data): try connection.send(data, timeout: .seconds(5))
                case .select, .completion: return
                }
            } catch {                                     // end of stream, or an error
                try? connection.close()
                connections.remove(connection)
                return
            }
        }
    }

    // Accepts until it must wait; false once the listener is closed.
    func accept() -> Bool {
        while true {
            switch try? listener.accept(nowait: mailbox) {
            case .done(let connection)?:
                connections.insert(connection)
                receive(connection)
            case .select?, .completion?: return true
            case nil: return false
            }
        }
    }

    var listening = accept()
    while listening, let message = mailbox.receive() {
        switch message {
        case .completion(listener, _, .accepted(let connection)):
            connections.insert(connection)
            receive(connection)
            listening = accept()
        case .select(listener, _), .completion(listener, _, _):
            listening = accept()
        case .abort(listener, _, _):                      // the listener was closed
            listening = false
        case .select(let connection, _):                  // select: call again
            receive(connection)
        case .completion(let connection, _, .received(let data)):
            if (try? connection.send(data, timeout: .seconds(5))) != nil {
                receive(connection)
            } else {
                try? connection.close()
                connections.remove(connection)
            }
        default:                                          // a receive failed or was aborted
            try? message.socket.close()
            connections.remove(message.socket)
        }
    }
    for connection in connections { try? connection.close() }
}

// MARK: ChoosingAnAPI.md, "Async calls"

/// Echoes every connection `listener` accepts, a task per connection, until `listener` is closed.
func serveAsync(_ listener: Socket) async {
    await withDiscardingTaskGroup { group in
        while let connection = try? await listener.accept() {
            group.addTask {
                defer { try? connection.close() }
                while let data = try? await connection.recv() {
                    guard (try? await connection.send(data)) != nil else { return }
                }
            }
        }
    }
}

// MARK: ChoosingABackend.md, "Choosing the default backend": compiled, not run (it would set the
// process's default backend, which the tests never start: every test names its backend).

func chooseTheDefaultBackend() throws {
    try ESock.setDefaultBackend(.select)              // before the first socket on the default backend
}

@Suite("doc snippets: the articles' code, on every backend", .leakChecked, .timeLimit(.minutes(2)))
struct DocSnippetsTests {
    /// A connected pair on `variant` (TestSupport's), under the names GettingStarted.md gives it.
    static func pair(_ variant: Backend) throws -> (listener: Socket, client: Socket, server: Socket) {
        let p = try connectedPair(on: variant)
        return (p.listener, p.client, p.server)
    }

    /// A listener on loopback, as the articles' servers take it.
    static func listening(_ io: any IOBackend) throws -> Socket {
        let listener = try Socket.open(.inet, .stream, .tcp, backend: io)
        try listener.bind(.loopback(port: 0))
        try listener.listen()
        return listener
    }

    /// Connects to `listener`, sends `text` on `count` connections, and returns what came back.
    static func echoes(from listener: Socket, _ text: String, connections count: Int) throws -> [[UInt8]] {
        let io = listener.ioBackend
        let peers = try (0..<count).map { _ in try Socket.open(.inet, .stream, .tcp, backend: io) }
        defer { for p in peers { try? p.close() } }
        for p in peers { try p.connect(try listener.sockname(), timeout: .seconds(5)) }
        for (i, p) in peers.enumerated() { try p.send(Array("\(text) \(i)".utf8), timeout: .seconds(5)) }
        return try peers.enumerated().map { i, p in try p.recv(length: "\(text) \(i)".utf8.count, timeout: .seconds(5)) }
    }

    // Swift 6.3.1 cannot compile a `catch where` of a typed error in a function that also uses
    // #expect (a crash, or a pass that does not end): the snippets that have one run in these
    // functions, and the tests check what they return.

    /// GettingStarted.md, a receive that times out.
    static func replyWithin100ms(_ server: Socket) throws -> [UInt8] {
        let reply: [UInt8]
        do {
            reply = try server.recv(timeout: .milliseconds(100))
        } catch where error.reason == .timeout {
            reply = []                                  // nothing came within 100 ms; the socket is still usable
        }
        return reply
    }

    /// EndOfStreamAndErrors.md, a timeout with the part that came.
    static func partOnTimeout(_ server: Socket) throws -> [UInt8] {
        let received: [UInt8]
        do {
            received = try server.recv(length: 5, timeout: .milliseconds(50))
        } catch where error.reason == .timeout {
            guard case .received(let part)? = error.partial else { throw error }
            received = part                             // [1, 2]: what came before the time ran out
        }
        return received
    }

    /// EndOfStreamAndErrors.md, the end of a stream; returns the data before it.
    static func endOfStream(_ client: Socket, _ server: Socket) throws -> [UInt8] {
        try client.send(Array("bye".utf8), timeout: .seconds(5))
        try client.shutdown(.write)                     // or client.close(): the end of the stream
        let last = try server.recv(timeout: .seconds(5))   // "bye": the data comes first
        do {
            _ = try server.recv(timeout: .seconds(5))
        } catch where error.reason == .closed {
            // the end of the stream: every later receive says so too
        }
        return last
    }

    /// EndOfStreamAndErrors.md, an error of the kernel: what a connect to `unusedPort` comes to.
    static func connectOutcome(_ caller: Socket, _ unusedPort: UInt16) -> String {
        let outcome: String
        do {
            try caller.connect(.loopback(port: unusedPort), timeout: .seconds(5))
            outcome = "connected"
        } catch {
            switch error.reason {
            case .posix(let errno): outcome = errno.name     // "econnrefused": Erlang's {error, econnrefused}
            default: outcome = "\(error.reason)"
            }
        }
        return outcome
    }

    @Test("GettingStarted: open, bind, listen, connect, accept, send, recv, a timeout, close", arguments: Backend.allCases)
    func gettingStarted(_ variant: Backend) throws {
        let io = try variant.instance()
        let listener = try Socket.open(.inet, .stream, .tcp, backend: io)
        try listener.bind(.loopback(port: 0))           // port 0: the kernel picks a free port
        try listener.listen()
        let address = try listener.sockname()           // 127.0.0.1 and the port it got

        let client = try Socket.open(.inet, .stream, .tcp, backend: io)
        try client.connect(address, timeout: .seconds(5))
        let server = try listener.accept(timeout: .seconds(5))

        try client.send(Array("hello".utf8), timeout: .seconds(5))
        let hello = try server.recv(length: 5, timeout: .seconds(5))    // waits for exactly 5 bytes
        try client.send(Array("more".utf8), timeout: .seconds(5))
        let some = try server.recv(timeout: .seconds(5))                // what has arrived: 1 to 4 bytes
        #expect(hello == Array("hello".utf8))
        #expect(!some.isEmpty && Array("more".utf8).starts(with: some))
        if some.count < 4 { _ = try server.recv(length: 4 - some.count, timeout: .seconds(5)) }

        #expect(try Self.replyWithin100ms(server).isEmpty)

        try client.close()
        try server.close()
        try listener.close()
        #expect(throws: SocketError.closed) { try server.recv(timeout: .zero) }
    }

    @Test("GettingStarted: a first server, one connection at a time", arguments: Backend.allCases)
    func firstServer(_ variant: Backend) throws {
        let io = try variant.instance()
        let listener = try Self.listening(io)
        let serving = onThread { serve(listener) }

        let peer = try Socket.open(.inet, .stream, .tcp, backend: io)
        try peer.connect(try listener.sockname(), timeout: .seconds(5))
        try peer.send(Array("ping".utf8), timeout: .seconds(5))
        let echoed = try peer.recv(length: 4, timeout: .seconds(5))      // "ping"
        try peer.close()
        try listener.close()                                             // serve(_:) returns
        #expect(echoed == Array("ping".utf8))
        try serving()
    }

    @Test("ChoosingAnAPI: a nowait receive on either model", arguments: Backend.allCases)
    func nowaitReceive(_ variant: Backend) throws {
        let (listener, client, server) = try Self.pair(variant)
        defer { for s in [client, server, listener] { try? s.close() } }
        try client.send([1, 2, 3], timeout: .seconds(5))
        let mailbox = Mailbox()
        #expect(try recvNowait(server, mailbox) == [1, 2, 3])
        // Nothing there: the call waits for its message; the data comes from another thread.
        let sender = onThread {
            let deadline = ContinuousClock.now + .seconds(10)
            while server.info().numReaders == 0 && ContinuousClock.now < deadline { sched_yield() }
            try client.send([4, 5], timeout: .seconds(5))
        }
        #expect(try recvNowait(server, mailbox) == [4, 5])
        try sender()
        try client.close()
        #expect(throws: SocketError.closed) { try recvNowait(server, mailbox) }
        #expect(mailbox.count == 0)
    }

    @Test("ChoosingAnAPI: a nowait server on the backend's own thread", arguments: Backend.allCases)
    func nowaitServer(_ variant: Backend) throws {
        let io = try variant.instance()
        let listener = try Self.listening(io)
        let clients = onThread {
            defer { try? listener.close() }
            let got = try Self.echoes(from: listener, "nowait", connections: 3)
            #expect(got == (0..<3).map { Array("nowait \($0)".utf8) })
        }
        let backend = listener.ioBackend
        try backend.run { serveNowait(listener) }       // returns when the listener is closed
        try clients()
    }

    @Test("ChoosingAnAPI: a nowait server on a thread of its own", arguments: Backend.allCases)
    func nowaitServerOnAThread(_ variant: Backend) throws {
        let listener = try Self.listening(try variant.instance())
        let serving = onThread { serveNowait(listener) }
        defer { try? serving() }
        defer { try? listener.close() }
        #expect(try Self.echoes(from: listener, "thread", connections: 2) == (0..<2).map { Array("thread \($0)".utf8) })
    }

    @Test("ChoosingAnAPI: async calls on the backend's executor, async timeouts, cancellation", arguments: Backend.allCases)
    func asyncServer(_ variant: Backend) async throws {
        let io = try variant.instance()
        let listener = try Self.listening(io)
        let backend = listener.ioBackend
        let server = Task(executorPreference: backend.executor) { await serveAsync(listener) }

        let client = try Socket.open(.inet, .stream, .tcp, backend: io)
        try await client.connect(listener.sockname(), timeout: .seconds(5))
        try await client.send(Array("ping".utf8))
        let echoed = try await client.recv(length: 4, timeout: .seconds(5))     // "ping"
        #expect(echoed == Array("ping".utf8))

        let answer: [UInt8]
        do {
            answer = try await client.recv(length: 4, timeout: .milliseconds(100))
        } catch where error.reason == .timeout {
            answer = []                                 // nothing came in time; error.partial has what did
        }
        #expect(answer.isEmpty)

        let reading = Task { try await client.recv(length: 4) }
        reading.cancel()                                // cancels the receive: it throws cancelled
        let outcome = await reading.result              // .failure(SocketError), reason cancelled, partial what came
        if case .failure(let error as SocketError) = outcome {
            #expect(error.reason == .cancelled)
        } else {
            Issue.record("the cancelled receive did not fail with cancelled")
        }

        try client.close()
        try listener.close()
        await server.value
    }

    @Test("ChoosingABackend: a socket on a backend of its own, and what the default is")
    func backendPerSocket() throws {
        try Backend.completion.requireAvailable()
        let ring = try CompletionBackend()              // io_uring; throws where the kernel refuses it
        let socket = try Socket.open(.inet, .dgram, .udp, backend: ring)
        let name = socket.ioBackend.name                // "completion"
        #expect(name == "completion")
        try socket.close()
        ring.shutdown()

        let fallback = ESock.info().ioBackend?.settings["fallback"]   // nil unless auto fell back to select
        #expect(fallback == nil || ESock.info().ioBackend?.name == "select")
    }

    @Test("Lifetime: an owner's end closes its sockets; close aborts what waits; shutdown closes the rest",
          arguments: Backend.allCases)
    func lifetime(_ variant: Backend) throws {
        let io = try variant.instance()
        let owner = Mailbox()
        let socket = try Socket.open(.inet, .stream, .tcp, backend: io, owner: owner)
        let watcher = Mailbox()
        let monitor = socket.monitor(watcher)
        owner.end()                                     // closes every socket `owner` owns
        let down = watcher.receive(timeout: .seconds(5))   // .down(socket, monitor, reason: .ownerEnded)
        guard case .down(let s, let m, let reason)? = down else { Issue.record("no DOWN: \(String(describing: down))"); return }
        #expect(s == socket && m == monitor && reason == .ownerEnded)

        let (listener, client, server) = try Self.pair(variant)
        defer { for s in [client, listener] { try? s.close() } }
        let mailbox = Mailbox()
        let pending = try server.recv(nowait: mailbox)  // nothing to receive yet: it waits
        try server.close()
        let aborted = pending.handle.flatMap { mailbox.receive(handle: $0, timeout: .seconds(5)) }   // .abort(server, handle, reason: closed)
        guard case .abort(_, _, let error)? = aborted else { Issue.record("no abort: \(String(describing: aborted))"); return }
        #expect(error.reason == .closed)

        let stopping = try SelectBackend()
        let udp = try Socket.open(.inet, .dgram, .udp, backend: stopping)
        stopping.shutdown()                             // closes `udp`, then the backend's thread ends
        #expect(throws: SocketError.closed) { try udp.recv(timeout: .zero) }
        #expect(throws: SocketError(.backendStopped("select"))) { try Socket.open(.inet, .dgram, .udp, backend: stopping) }
    }

    @Test("EndOfStreamAndErrors: data first, then closed; a timeout with the part that came; an errno",
          arguments: Backend.allCases)
    func endOfStreamAndErrors(_ variant: Backend) throws {
        let io = try variant.instance()
        let (listener, client, server) = try Self.pair(variant)
        defer { for s in [client, server, listener] { try? s.close() } }

        try client.send([1, 2], timeout: .seconds(5))
        #expect(try Self.partOnTimeout(server) == [1, 2])

        let now = try? server.recv(timeout: .zero)      // what is there now, or nil: never waits
        #expect(now == nil)

        #expect(try Self.endOfStream(client, server) == Array("bye".utf8))
        #expect(throws: SocketError.closed) { try server.recv(timeout: .seconds(5)) }
        let mailbox = Mailbox()
        #expect(throws: SocketError.closed) { try recvNowait(server, mailbox) }

        // A port bound and not listening (a closed listener's port is not safe in a parallel run).
        let (holder, refusing) = try refusingAddress(on: io)
        defer { try? holder.close() }
        let unusedPort = try #require(refusing.port)
        let caller = try Socket.open(.inet, .stream, .tcp, backend: io)
        defer { try? caller.close() }
        #expect(Self.connectOutcome(caller, unusedPort) == "econnrefused")
    }

    @Test("ZeroCopyBuffers: receive into your memory and send from it", arguments: Backend.allCases)
    func zeroCopy(_ variant: Backend) throws {
        let (listener, client, server) = try Self.pair(variant)
        defer { for s in [client, server, listener] { try? s.close() } }
        try client.send(Array("hello".utf8), timeout: .seconds(5))

        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
        defer { buffer.deallocate() }
        let count = try server.recv(into: buffer, timeout: .seconds(5))
        let bytes = UnsafeRawBufferPointer(rebasing: buffer[..<count])   // valid until buffer is reused
        try server.send(bytes, timeout: .seconds(5))    // echoed from the same memory, no array
        #expect(try client.recv(length: count, timeout: .seconds(5)) == Array("hello".prefix(count).utf8))

        let message: [UInt8] = Array("span".utf8)
        try client.send(message.span.bytes, timeout: .seconds(5))
        var storage = [UInt8](repeating: 0, count: 4096)
        var elements = storage.mutableSpan
        var span = elements.mutableBytes                 // the array's memory, as raw bytes
        let n = try server.recv(into: &span, timeout: .seconds(5))
        #expect(n > 0 && Array(storage.prefix(n)) == Array(message.prefix(n)))
    }

    @Test("ZeroCopyBuffers: an output span, and the async form", arguments: Backend.allCases)
    func zeroCopyOutputSpanAndAsync(_ variant: Backend) async throws {
        let (listener, client, server) = try Self.pair(variant)
        defer { for s in [client, server, listener] { try? s.close() } }
        try await client.send([1, 2, 3])
        var storage = [UInt8](repeating: 0, count: 4096)
        let filled = try storage.withUnsafeMutableBytes { raw throws(SocketError) -> Int in
            var output = OutputRawSpan(buffer: raw, initializedCount: 0)
            _ = try server.recv(into: &output, timeout: .seconds(5))   // appends after what it holds
            return output.byteCount
        }
        #expect(filled > 0 && Array(storage.prefix(filled)) == Array([1, 2, 3].prefix(filled)))
        if filled < 3 { _ = try await server.recv(length: 3 - filled, timeout: .seconds(5)) }

        try await client.send([4, 5])
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 16)
        defer { buffer.deallocate() }
        let received = try await server.recv(into: buffer, timeout: .seconds(5))   // suspends, blocks no thread
        #expect(received > 0 && Array(buffer[..<received]) == Array([4, 5].prefix(received)))
    }

    @Test("ErlangMapping: the same calls as Erlang's", arguments: Backend.allCases)
    func erlangMapping(_ variant: Backend) throws {
        let io = try variant.instance()
        let listener = try Self.listening(io)
        let serving = onThread { serve(listener) }
        defer { try? serving() }
        defer { try? listener.close() }
        let port = try #require(try listener.sockname().port)

        let s = try Socket.open(.inet, .stream, .tcp, backend: io)
        try s.connect(.inet(.loopback, port: port))
        try s.send(Array("hello".utf8))
        let data = try s.recv(length: 5, timeout: .milliseconds(5000))
        try s.close()
        #expect(data == Array("hello".utf8))
    }

    // MARK: The articles' code is the code above

    @Test("every ```swift block of the documentation's articles is in this file, line for line")
    func everySnippetIsHere() throws {
        let tests = URLPath(#filePath)
        let catalog = tests.root + "/Sources/ESock/ESock.docc"
        let source = try #require(readWholeFile(tests.path), "cannot read \(tests.path)")
        let here = Self.lines(String(decoding: source, as: UTF8.self).replacing(", backend: io", with: ""))
        let articles = Self.markdownFiles(in: catalog)
        #expect(articles.contains("GettingStarted.md"), "no articles in \(catalog)")
        var checked = 0
        for article in articles {
            let text = try #require(readWholeFile("\(catalog)/\(article)"), "cannot read \(article)")
            for block in Self.swiftBlocks(String(decoding: text, as: UTF8.self)) {
                let lines = Self.lines(block).filter { !$0.hasPrefix("import ") }
                let found = Self.contains(here, lines)
                #expect(found, "\(article): this block is not in DocSnippetsTests.swift:\n\(block)")
                checked += 1
            }
        }
        #expect(checked >= 20, "only \(checked) blocks found in \(catalog)")
    }

    /// The names of the Markdown files in `directory`, sorted.
    static func markdownFiles(in directory: String) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name.hasSuffix(".md") { names.append(name) }
        }
        return names.sorted()
    }

    /// The contents of the ```swift fenced blocks of a Markdown text.
    static func swiftBlocks(_ markdown: String) -> [String] {
        var blocks: [String] = []
        var current: [Substring]?
        for line in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingSpaces
            if current == nil, trimmed == "```swift" {
                current = []
            } else if let block = current, trimmed == "```" {
                blocks.append(block.joined(separator: "\n"))
                current = nil
            } else {
                current?.append(line)
            }
        }
        return blocks
    }

    /// The non-empty lines of `text`, without their leading and trailing spaces.
    static func lines(_ text: String) -> [String] {
        text.split(separator: "\n").map { String($0.trimmingSpaces) }.filter { !$0.isEmpty }
    }

    /// Whether `needle` occurs in `haystack` as consecutive elements.
    static func contains(_ haystack: [String], _ needle: [String]) -> Bool {
        guard !needle.isEmpty else { return true }
        guard haystack.count >= needle.count else { return false }
        return (0...(haystack.count - needle.count)).contains { start in
            haystack[start..<(start + needle.count)].elementsEqual(needle)
        }
    }
}

/// This test file's path and the package's root directory (two levels above Tests/ESockTests).
private struct URLPath {
    let path: String
    let root: String

    init(_ path: String) {
        self.path = path
        var parts = path.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        root = parts.joined(separator: "/")
    }
}

private extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while let c = s.first, c == " " || c == "\t" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" || c == "\r" { s.removeLast() }
        return s
    }
}
