// esock-stress: reliability checks that need a process of their own (its descriptor count, its
// descriptor limit, its seccomp filter), run by Tests/ESockTests/ReliabilityTests.swift.
//
//   esock-stress leak <backend> <cycles>      open/connect/echo/close cycles; fds and registry return to where they were
//   esock-stress load <backend> <connections> that many connections at once, all echoing checksummed payloads
//                                             (the client ends run in a child: `esock-stress clients`)
//   esock-stress seccomp                      io_uring_setup denied: auto falls back to select, completion fails clearly
//   esock-stress probe <name> <backend>        a check that traps or hangs when it fails (Probes.swift)
//
// <backend>: select, completion, select-thread, completion-plain. Prints one line of key=value
// results and exits 0 when the check holds, 1 when it does not, 2 on bad arguments.
#if canImport(Glibc)
import Glibc
#endif
import CESockStress
import ESock

func fail(_ message: String) -> Never {
    print("FAIL \(message)")
    exit(1)
}

/// The numbers of this process's open descriptors, read from /proc/self/fd (the listing's own
/// descriptor, closed by the time this returns, among them); nil when it cannot be read.
func openDescriptorNumbers() -> [Int32]? {
    guard let dir = opendir("/proc/self/fd") else { return nil }
    defer { closedir(dir) }
    var numbers: [Int32] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if let fd = Int32(name) { numbers.append(fd) }
    }
    return numbers
}

/// How many descriptors this process has open; -1 when /proc/self/fd cannot be read.
func openDescriptors() -> Int {
    openDescriptorNumbers().map { $0.count - 1 } ?? -1
}

func makeBackend(_ name: String) throws(SocketError) -> any IOBackend {
    switch name {
    case "select": return try SelectBackend()
    case "select-thread": return try SelectBackend(callersLead: false)
    case "completion": return try CompletionBackend()
    case "completion-plain":
        var c = CompletionBackend.Configuration()
        c.deferTaskRun = false
        c.multishot = false
        return try CompletionBackend(configuration: c)
    default: print("unknown backend \(name)"); exit(2)
    }
}

/// A 64-byte payload: connection number, round, then bytes derived from both, then a checksum.
func payload(_ n: Int, round: Int) -> [UInt8] {
    var p = (0..<60).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ n &* 7 &+ round) }
    p[0] = UInt8(truncatingIfNeeded: n >> 8); p[1] = UInt8(truncatingIfNeeded: n); p[2] = UInt8(truncatingIfNeeded: round)
    let sum = p.reduce(UInt32(0)) { ($0 &* 31) &+ UInt32($1) }
    return p + withUnsafeBytes(of: sum.bigEndian) { Array($0) }
}

func leak(_ backendName: String, cycles: Int) throws(SocketError) {
    let backend = try makeBackend(backendName)
    let listener = try Socket.open(.inet, .stream, .tcp, backend: backend)
    try listener.bind(.loopback(port: 0))
    try listener.listen(backlog: 128)
    let address = try listener.sockname()
    let fdsBefore = openDescriptors(), socketsBefore = ESock.numberOf()
    for i in 0..<cycles {
        let client = try Socket.open(.inet, .stream, .tcp, backend: backend)
        try client.connect(address, timeout: .seconds(5))
        let server = try listener.accept(timeout: .seconds(5))
        let p = payload(i, round: 0)
        try client.send(p, timeout: .seconds(5))
        guard try server.recv(length: p.count, timeout: .seconds(5)) == p else { fail("cycle \(i): payload corrupted") }
        try server.close()
        try client.close()
    }
    let fdsAfter = openDescriptors(), socketsAfter = ESock.numberOf()
    try listener.close()
    print("cycles=\(cycles) fds_before=\(fdsBefore) fds_after=\(fdsAfter) sockets_before=\(socketsBefore) sockets_after=\(socketsAfter)")
    if fdsAfter != fdsBefore || socketsAfter != socketsBefore { fail("leak") }
}

/// Raises this process's descriptor limit to at least `need` (the soft limit, up to the hard one).
func raiseDescriptorLimit(to need: Int) {
    var limit = rlimit()
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    guard limit.rlim_cur < rlim_t(need) else { return }
    guard limit.rlim_max >= rlim_t(need) else { fail("need \(need) descriptors, the hard limit is \(limit.rlim_max)") }
    limit.rlim_cur = rlim_t(need)
    if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) != 0 { fail("setrlimit(\(need)): errno \(errno)") }
}

/// The server side of `load`: accepts `connections`, then echoes two rounds on each. The client
/// side runs in a child process (`clients`), so that each process holds one descriptor per
/// connection and the test needs no more than the usual hard limit.
func load(_ backendName: String, connections: Int) throws(SocketError) {
    raiseDescriptorLimit(to: connections + 512)
    let backend = try makeBackend(backendName)
    let listener = try Socket.open(.inet, .stream, .tcp, backend: backend)
    try listener.bind(.loopback(port: 0))
    try listener.listen(backlog: 4096)
    guard let port = try listener.sockname().port else { fail("no port") }
    let start = ContinuousClock.now
    var child = pid_t()
    let argv = ["esock-stress", "clients", backendName, "\(port)", "\(connections)"]
    var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
    defer { for a in cArgs { free(a) } }
    let rc = posix_spawn(&child, "/proc/self/exe", nil, nil, &cArgs, environ)
    guard rc == 0 else { fail("posix_spawn: \(rc)") }
    var servers: [Socket] = []
    servers.reserveCapacity(connections)
    for _ in 0..<connections { servers.append(try listener.accept(timeout: .seconds(60))) }
    let peak = ESock.numberOf()
    var echoed = 0
    for round in 0..<2 {
        // The server side learns which connection it is from the payload, so a mix-up shows.
        for s in servers {
            let got = try s.recv(length: 64, timeout: .seconds(60))
            let n = Int(got[0]) << 8 | Int(got[1])
            guard n < connections, got == payload(n, round: round) else { fail("server got a corrupted payload") }
            try s.send(got, timeout: .seconds(60))
            echoed += 1
        }
    }
    var status: Int32 = 0
    waitpid(child, &status, 0)
    for s in servers { try s.close() }
    try listener.close()
    let elapsed = ContinuousClock.now - start
    print("connections=\(connections) server_sockets_at_peak=\(peak) echoed=\(echoed) ms=\(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)")
    if status != 0 { fail("the clients failed (status \(status))") }
    if echoed != 2 * connections { fail("lost echoes") }
}

/// The client side of `load`: `connections` connections to `port`, two rounds of checksummed
/// payloads, every echo checked.
func clients(_ backendName: String, port: UInt16, connections: Int) throws(SocketError) {
    raiseDescriptorLimit(to: connections + 512)
    let backend = try makeBackend(backendName)
    let mailbox = Mailbox()
    var clients: [Socket] = []
    clients.reserveCapacity(connections)
    while clients.count < connections {
        // In batches, so that the listener's bounded backlog drains as the server accepts.
        var batch: [(Socket, Pending<Void>)] = []
        for _ in 0..<min(1000, connections - clients.count) {
            let c = try Socket.open(.inet, .stream, .tcp, backend: backend)
            batch.append((c, try c.connect(.loopback(port: port), nowait: mailbox)))
        }
        for (c, pending) in batch {
            switch pending {
            case .done: break
            case .select(let info, _):
                guard mailbox.receive(handle: info.handle, timeout: .seconds(60)) != nil else { fail("connect: no select message") }
                try c.connect()
            case .completion(let info):
                guard case .completion(_, _, .connected)? = mailbox.receive(handle: info.handle, timeout: .seconds(60)) else {
                    fail("connect: no completion")
                }
            }
            clients.append(c)
        }
    }
    var checked = 0
    for round in 0..<2 {
        for (i, c) in clients.enumerated() { try c.send(payload(i, round: round), timeout: .seconds(60)) }
        for (i, c) in clients.enumerated() {
            guard try c.recv(length: 64, timeout: .seconds(60)) == payload(i, round: round) else { fail("echo \(i) corrupted or misrouted") }
            checked += 1
        }
    }
    for c in clients { try c.close() }
    print("client_connections=\(connections) echoes_checked=\(checked)")
    if checked != 2 * connections { fail("lost echoes") }
}

func seccomp() {
    let rc = esock_stress_deny_io_uring()
    if rc != 0 { print("seccomp_unavailable=\(-rc)"); exit(3) }
    var explicit = "ok"
    do {
        _ = try CompletionBackend()
    } catch {
        explicit = error.description
    }
    // ESOCK_IO_BACKEND=completion goes this way: the error, and no default is set.
    var chosen = "ok"
    do {
        try ESock.setDefaultBackend(.completion)
    } catch {
        chosen = error.description
    }
    do {
        try ESock.setDefaultBackend(.auto)
        let s = try Socket.open(.inet, .stream, .tcp)
        try s.close()
    } catch {
        fail("auto: \(error)")
    }
    let info = ESock.info().ioBackend
    print("explicit_completion=\(explicit)")
    print("default_completion=\(chosen)")
    print("auto_backend=\(info?.name ?? "none")")
    print("auto_fallback=\(info?.settings["fallback"] ?? "none")")
}

let args = CommandLine.arguments
do {
    switch args.count > 1 ? args[1] : "" {
    case "leak" where args.count == 4: try leak(args[2], cycles: Int(args[3]) ?? 0)
    case "load" where args.count == 4: try load(args[2], connections: Int(args[3]) ?? 0)
    case "clients" where args.count == 5: try clients(args[2], port: UInt16(args[3]) ?? 0, connections: Int(args[4]) ?? 0)
    case "seccomp": seccomp()
    case "probe" where args.count == 4: try probe(args[2], args[3])
    default:
        print("usage: esock-stress leak|load <backend> <count> | esock-stress seccomp | esock-stress probe <name> <backend>")
        exit(2)
    }
} catch {
    fail("\(error)")
}
