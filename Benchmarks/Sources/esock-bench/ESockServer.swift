// The ESock servers the benchmark measures: the same modes as the C and NIO baselines
// (Benchmarks/CONTRACT.md), written against ESock's two APIs:
// - nowait: one thread, one mailbox, Erlang style (nowait calls, then select/completion messages);
// - blocking: a thread per connection making blocking calls;
// - async: a task per connection making async calls (no thread blocked per connection), on the
//   backend's executor.
// The http mode runs ESock's HTTP example (Sources/ESockExamples/HTTP) in its async or nowait form.
import ESock
import SystemPackage
import ESockExamples
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Runs an ESock benchmark server until SIGTERM or SIGINT.
func runESockServer(backend: String, api: String, mode: String, port: Int, file: String?, size: Int) throws {
    guard let choice = BackendChoice(rawValue: backend), choice != .auto else {
        throw BenchError("backend must be select or completion, not \(backend)")
    }
    guard let mode = ServerMode(rawValue: mode) else { throw BenchError("unknown mode \(mode)") }
    guard port >= 0, port <= 65535 else { throw BenchError("bad port \(port)") }
    raiseDescriptorLimit()
    signal(SIGTERM) { _ in _exit(0) }
    signal(SIGINT) { _ in _exit(0) }
    signal(SIGPIPE, SIG_IGN)

    // ESOCK_CALLERS_LEAD=0: the select backend's epoll-thread-only model, and the nowait server's
    // loop on a thread of its own rather than the backend's (every operation then crosses
    // threads); ESOCK_DEFER_TASKRUN=0: the ring without SINGLE_ISSUER | DEFER_TASKRUN;
    // ESOCK_RING_SENDS=0: sends on the ring owner (nowait and async) tried with send(2) first
    // (the default sends them through the ring); ESOCK_MULTISHOT=0: an SQE per receive and
    // accept; ESOCK_BUNDLES=1: multishot receives asking for bundles (a CQE may fill several
    // provided buffers); ESOCK_PROVIDED_BUFFERS / _SIZE:
    // the provided-buffer ring's shape with whole buffers, ESOCK_INCREMENTAL_BUFFERS / _SIZE with
    // incremental ones (0: none; see docs/architecture.md, "Measured: the ring owner", and
    // Benchmarks/ab.py); ESOCK_BENCH_INFO=1: the backend's counters on stderr once a second;
    // ESOCK_FUTEX_HASH=0: the blocking server leaves the futex hash as the kernel made it.
    let callersLead = getenv("ESOCK_CALLERS_LEAD").map { String(cString: $0) != "0" } ?? true
    var ringConfig = CompletionBackend.Configuration()
    ringConfig.deferTaskRun = getenv("ESOCK_DEFER_TASKRUN").map { String(cString: $0) != "0" } ?? true
    ringConfig.sendsThroughRing = getenv("ESOCK_RING_SENDS").map { String(cString: $0) != "0" } ?? true
    ringConfig.multishot = getenv("ESOCK_MULTISHOT").map { String(cString: $0) != "0" } ?? true
    ringConfig.receiveBundles = getenv("ESOCK_BUNDLES").map { String(cString: $0) != "0" } ?? false
    if let n = getenv("ESOCK_PROVIDED_BUFFERS").flatMap({ UInt32(String(cString: $0)) }) { ringConfig.providedBuffers = n }
    if let n = getenv("ESOCK_PROVIDED_BUFFER_SIZE").flatMap({ UInt32(String(cString: $0)) }) { ringConfig.providedBufferSize = n }
    if let n = getenv("ESOCK_INCREMENTAL_BUFFERS").flatMap({ UInt32(String(cString: $0)) }) { ringConfig.incrementalBuffers = n }
    if let n = getenv("ESOCK_INCREMENTAL_BUFFER_SIZE").flatMap({ UInt32(String(cString: $0)) }) { ringConfig.incrementalBufferSize = n }
    let io: any IOBackend = choice == .select ? try SelectBackend(callersLead: callersLead)
                                              : try CompletionBackend(configuration: ringConfig)
    if getenv("ESOCK_BENCH_INFO") != nil { reportCounters(of: io) }
    if mode == .http { try runHTTPExample(io: io, api: api, port: port, file: file, size: size) }
    let listener = try Socket.open(.inet, .stream, .tcp, backend: io)
    var one: Int32 = 1
    setsockopt(listener.fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    try listener.bind(.loopback(port: UInt16(port)))
    try listener.listen(backlog: 4096)
    var fileFD: Int32 = -1
    if mode == .sendfile {
        guard let file else { throw BenchError("--file is required for sendfile") }
        fileFD = open(file, O_RDONLY | O_CLOEXEC)
        guard fileFD >= 0 else { throw BenchError("cannot open \(file)") }
    }
    print("READY \(try listener.sockname().port ?? 0)")
    flushOutput()
    let config = ServerConfig(mode: mode, chunk: [UInt8](repeating: 0x5a, count: max(size, 1)), file: FileDescriptor(rawValue: fileFD))
    switch api {
    case "nowait":
        // Erlang style: one loop of nowait calls and a mailbox, on the backend's own thread (no
        // hand-off per operation), or on this thread when measuring the hand-off.
        if callersLead {
            try io.run { try NowaitServer(listener: listener, config: config).run() }
        } else {
            try NowaitServer(listener: listener, config: config).run()
        }
    case "blocking": try BlockingServer(listener: listener, config: config).run()
    case "async":
        let server = AsyncServer(listener: listener, config: config)
        // The tasks run on the backend's own thread (docs/architecture.md, "Async calls").
        Task(executorPreference: io.executor) { await server.run() }
        while true { pause() }
    default: throw BenchError("api must be nowait, blocking or async, not \(api)")
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ text: String) { description = text }
}

enum ServerMode: String {
    case echo, sink, source, accept, sendfile, http
}

/// The http mode: ESock's HTTP example in its async or nowait form, `size` bytes at `/` and
/// `file` at `/file` (by sendfile), with keep-alive.
func runHTTPExample(io: any IOBackend, api: String, port: Int, file: String?, size: Int) throws -> Never {
    let site = HTTPSite(greeting: String(repeating: "x", count: max(size - 1, 0)) + "\n",
                        file: try file.map { path throws(SocketError) in try ServedFile(path: path) })
    switch api {
    case "nowait":
        let server = try HTTPNowaitServer(port: UInt16(port), site: site, backend: io)
        print("READY \(server.port)")
        flushOutput()
        server.run()
    case "async":
        let server = try HTTPServer(port: UInt16(port), site: site, backend: io)
        print("READY \(server.port)")
        flushOutput()
        // The tasks run on the backend's own thread, as esock-http runs them.
        Task(executorPreference: io.executor) { await server.run() }
    default:
        throw BenchError("the http mode runs the nowait and async forms, not \(api)")
    }
    while true { pause() }
}

struct ServerConfig: @unchecked Sendable {
    let mode: ServerMode
    let chunk: [UInt8]
    let file: FileDescriptor
}

func raiseDescriptorLimit() {
    var limit = rlimit()
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    limit.rlim_cur = limit.rlim_max
    setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
}

func setNoDelay(_ s: Socket) {
    var one: Int32 = 1
    setsockopt(s.fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
}

// MARK: nowait + mailbox

/// One thread, one mailbox: every operation is a nowait call; the loop waits for messages.
final class NowaitServer {
    let listener: Socket
    let config: ServerConfig
    let mailbox = Mailbox()

    final class Connection {
        let socket: Socket
        /// Data still to send (echo, source).
        var pending: [UInt8] = []
        /// Bytes of the file sent (sendfile).
        var fileSent = 0
        init(_ socket: Socket) { self.socket = socket }
    }

    /// What each outstanding handle is for.
    enum Waiting {
        case accept
        case recv(Connection)
        case send(Connection)
        case sendfile(Connection)
    }

    /// The outstanding operation of each socket (this server has at most one per socket), indexed
    /// by descriptor as a C server's connection table is: no hashing per message. Touched by the
    /// server's one loop thread only: `@exclusivity(unchecked)` drops the runtime's dynamic
    /// check of each access (~150 instructions per round trip, `Benchmarks/instructions.sh`).
    @exclusivity(unchecked) var waiting = WaitTable()

    struct WaitTable {
        /// The outstanding handle of each descriptor, apart from what it is for: comparing a
        /// message's handle reads no reference (a copy of a slot holding the connection would
        /// retain and release it).
        private var handles: [Handle?] = []
        private var whats: [Waiting?] = []

        mutating func put(_ socket: Socket, _ handle: Handle, _ what: consuming Waiting) {
            let fd = Int(socket.fd)
            if fd >= handles.count {
                let more = fd + 1 - handles.count + 64
                handles += Array(repeating: nil, count: more)
                whats += Array(repeating: nil, count: more)
            }
            handles[fd] = handle
            whats[fd] = consume what
        }

        /// What the message's operation was for, if it is the one outstanding on its socket.
        mutating func take(_ message: borrowing SocketMessage) -> Waiting? {
            let fd = Int(message.socket.fd)
            guard fd < handles.count, let handle = handles[fd], handle == message.handle else { return nil }
            handles[fd] = nil
            // Moved out, not copied: a copy would retain the connection, and the clearing
            // release it again.
            return whats[fd].take()
        }
    }

    init(listener: Socket, config: ServerConfig) {
        self.listener = listener
        self.config = config
    }

    func run() throws {
        acceptLoop()
        while true {
            guard let message = mailbox.receive() else { continue }
            guard let what = waiting.take(message) else { continue }
            handle(what, message)
        }
    }

    /// What a message about the outstanding operation `what` leads to. Both are consumed: the
    /// connection and the data are moved out of them, not copied (a copy is a retain and a
    /// release of each reference, per message).
    @inline(__always)
    func handle(_ what: consuming Waiting, _ message: consuming SocketMessage) {
        switch consume what {
        case .accept:
            if case .completion(_, _, .accepted(let s)) = consume message { started(s) }
            acceptLoop()
        case .recv(let c):
            switch consume message {
            case .completion(_, _, .received(let d)):
                if received(c, d) { recvLoop(c) }
            case .select:
                recvLoop(c)
            default:
                try? c.socket.close()
            }
        case .send(let c):
            switch consume message {
            case .completion(_, _, .sent):
                resume(c)
            case .select:
                if sendPending(c) { resume(c) }
            default:
                try? c.socket.close()
            }
        case .sendfile(let c):
            switch consume message {
            case .completion(_, _, .sentFile(let n)):
                c.fileSent += n
                sendfileLoop(c)
            case .select:
                sendfileLoop(c)
            default:
                try? c.socket.close()
            }
        }
    }

    func acceptLoop() {
        while true {
            switch try? listener.accept(nowait: mailbox) {
            case .done(let s)?: started(s)
            case let pending?:
                waiting.put(listener, pending.handle!, .accept)
                return
            case nil:
                continue
            }
        }
    }

    func started(_ s: Socket) {
        let c = Connection(s)
        setNoDelay(s)
        switch config.mode {
        case .accept, .http: try? s.close()
        case .echo, .sink: recvLoop(c)
        case .source:
            c.pending = config.chunk
            if sendPending(c) { resume(c) }
        case .sendfile: sendfileLoop(c)
        }
    }

    /// After a send finished: echo and sink read again; source sends the next chunk.
    func resume(_ c: Connection) {
        if config.mode == .source {
            repeat { c.pending = config.chunk } while sendPending(c)
        } else {
            recvLoop(c)
        }
    }

    /// Receives until the socket has nothing more; returns with an operation outstanding.
    func recvLoop(_ c: Connection) {
        while true {
            do {
                switch try c.socket.recv(nowait: mailbox) {
                case .done(let d):
                    if !received(c, d) { return }
                case let pending:
                    waiting.put(c.socket, pending.handle!, .recv(c))
                    return
                }
            } catch {
                try? c.socket.close()
                return
            }
        }
    }

    /// Handles received data; false when a send is now outstanding (or the connection closed).
    func received(_ c: Connection, _ d: consuming [UInt8]) -> Bool {
        guard config.mode == .echo else { return true }
        return send(c, d)
    }

    /// Sends `pending`; true when all of it went at once.
    func sendPending(_ c: Connection) -> Bool {
        var data: [UInt8] = []
        swap(&data, &c.pending)
        return send(c, data)
    }

    /// Sends `data`; true when all of it went at once. `pending` keeps what is still to send
    /// when the select backend sent a part (the call after the select message sends it).
    func send(_ c: Connection, _ data: consuming [UInt8]) -> Bool {
        do {
            switch try c.socket.send(data, nowait: mailbox) {
            case .done:
                return true
            case .select(let info, let rest):
                if let rest { c.pending = rest } else { c.pending = data }
                waiting.put(c.socket, info.handle, .send(c))
            case .completion(let info):
                waiting.put(c.socket, info.handle, .send(c))
            }
        } catch {
            try? c.socket.close()
        }
        return false
    }

    func sendfileLoop(_ c: Connection) {
        while true {
            do {
                switch try c.socket.sendfile(config.file, offset: Int64(c.fileSent), nowait: mailbox) {
                case .done(let n):
                    c.fileSent += n
                    if n == 0 {
                        try? c.socket.close()
                        return
                    }
                case .select(let info, let n):
                    c.fileSent += n ?? 0
                    waiting.put(c.socket, info.handle, .sendfile(c))
                    return
                case .completion(let info):
                    waiting.put(c.socket, info.handle, .sendfile(c))
                    return
                }
            } catch {
                try? c.socket.close()
                return
            }
        }
    }
}

// MARK: blocking calls, a thread per connection

final class BlockingServer: @unchecked Sendable {
    let listener: Socket
    let config: ServerConfig

    init(listener: Socket, config: ServerConfig) {
        self.listener = listener
        self.config = config
    }

    /// Threads serving a connection now.
    private let threads = Atomic<Int>(0)

    func run() throws {
        // The futex hash is grown as the threads grow (doubling: a dozen resizes up to 10,000
        // threads); ESOCK_FUTEX_HASH=0 leaves it as the kernel made it (docs/architecture.md,
        // "Twenty-second session").
        let sizesFutexHash = getenv("ESOCK_FUTEX_HASH").map { String(cString: $0) != "0" } ?? true
        var sizedFor = sizesFutexHash ? 0 : Int.max
        while true {
            let s = try listener.accept()
            setNoDelay(s)
            if config.mode == .accept {
                try? s.close()
                continue
            }
            let live = threads.add(1, ordering: .relaxed).newValue
            if live > sizedFor {
                sizedFor = (try? ESock.sizeFutexHash(forBlockedThreads: 2 * live)) ?? .max
            }
            spawn { [config, self] in
                defer {
                    try? s.close()
                    self.threads.subtract(1, ordering: .relaxed)
                }
                do {
                    switch config.mode {
                    case .echo:
                        while true { try s.send(try s.recv()) }
                    case .sink:
                        while true { _ = try s.recv() }
                    case .source:
                        while true { try s.send(config.chunk) }
                    case .sendfile:
                        try s.sendfile(config.file)
                    case .accept, .http:
                        break
                    }
                } catch {}
            }
        }
    }

    /// Starts a detached thread with a small stack (thousands of connections means thousands of threads).
    private func spawn(_ body: @escaping @Sendable () -> Void) {
        final class Box {
            let body: @Sendable () -> Void
            init(_ b: @escaping @Sendable () -> Void) { body = b }
        }
        var attr = pthread_attr_t()
        pthread_attr_init(&attr)
        pthread_attr_setstacksize(&attr, 256 << 10)
        pthread_attr_setdetachstate(&attr, Int32(PTHREAD_CREATE_DETACHED))
        var t = pthread_t()
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        let rc = pthread_create(&t, &attr, { raw in
            Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().body()
            return nil
        }, box)
        if rc != 0 { Unmanaged<Box>.fromOpaque(box).release() }
        pthread_attr_destroy(&attr)
    }
}

// MARK: async/await, a task per connection

final class AsyncServer: Sendable {
    let listener: Socket
    let config: ServerConfig

    init(listener: Socket, config: ServerConfig) {
        self.listener = listener
        self.config = config
    }

    func run() async {
        await withDiscardingTaskGroup { group in
            while true {
                guard let s = try? await listener.accept() else { continue }
                setNoDelay(s)
                if config.mode == .accept {
                    try? s.close()
                    continue
                }
                // The child task's closure holds the server and the socket only (16 bytes
                // of context; capturing the configuration's three fields made it 60).
                group.addTask { await self.serve(s) }
            }
        }
    }

    /// One connection's task.
    private func serve(_ s: Socket) async {
        defer { try? s.close() }
        do {
            switch config.mode {
            case .echo:
                while true { try await s.send(try await s.recv()) }
            case .sink:
                while true { _ = try await s.recv() }
            case .source:
                while true { try await s.send(config.chunk) }
            case .sendfile:
                try await s.sendfile(config.file)
            case .accept, .http:
                break
            }
        } catch {}
    }
}

/// ESOCK_BENCH_INFO: the backend's counters (``IOBackend/info()``) on stderr once a second, one
/// line each, so that a run can tell what the backend did (multishot receivers armed, enters).
private func reportCounters(of io: any IOBackend) {
    Task.detached {
        while true {
            try? await Task.sleep(for: .seconds(1))
            let counters = io.info().counters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            let line = "INFO " + counters.joined(separator: " ") + "\n"
            _ = line.withCString { write(2, $0, strlen($0)) }
        }
    }
}
