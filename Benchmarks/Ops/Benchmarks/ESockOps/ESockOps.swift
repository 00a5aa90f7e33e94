// Per-operation costs of ESock's nowait path, and of receiving into and sending from the
// caller's memory, on each backend: time and mallocs per cycle.
// Run: cd Benchmarks/Ops && swift package --disable-sandbox benchmark --target ESockOps
// Malloc thresholds (checked in under Thresholds/): swift package benchmark thresholds check --target ESockOps
import Benchmark
import ESock
#if canImport(Glibc)
import Glibc
#endif

/// One connected loopback pair on a backend, kept for the whole benchmark.
final class Fixture: @unchecked Sendable {
    let listener: Socket
    let client: Socket
    let server: Socket
    let mailbox = Mailbox()

    init(_ backend: any IOBackend) throws {
        listener = try Socket.open(.inet, .stream, .tcp, backend: backend)
        try listener.bind(.loopback(port: 0))
        try listener.listen(backlog: 1024)
        client = try Socket.open(.inet, .stream, .tcp, backend: backend)
        try client.connect(try listener.sockname(), timeout: .seconds(5))
        server = try listener.accept(timeout: .seconds(5))
    }

    func close() {
        for s in [client, server, listener] { try? s.close() }
    }
}

struct CycleFailed: Error {}

let payload = [UInt8](repeating: 0x42, count: 64)

/// The peer's side of a buffer benchmark, in plain system calls so that only ESock's call is
/// counted: send(2) all of `bytes` on `fd`.
func rawSend(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws {
    var done = 0
    while done < bytes.count {
        let n = Glibc.send(fd, bytes.baseAddress! + done, bytes.count - done, Int32(MSG_NOSIGNAL))
        if n > 0 { done += n } else if n < 0 && (errno == EAGAIN || errno == EINTR) { try waitFor(fd, Int16(POLLOUT)) }
        else { throw CycleFailed() }
    }
}

/// recv(2) exactly `buffer.count` bytes on `fd` (poll(2) when the socket is non-blocking and
/// nothing is there yet).
func rawRecv(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer) throws {
    var done = 0
    while done < buffer.count {
        let n = Glibc.recv(fd, buffer.baseAddress! + done, buffer.count - done, 0)
        if n > 0 { done += n } else if n < 0 && (errno == EAGAIN || errno == EINTR) { try waitFor(fd, Int16(POLLIN)) }
        else { throw CycleFailed() }
    }
}

/// poll(2) for `events` on `fd`, at most 5 s.
func waitFor(_ fd: Int32, _ events: Int16) throws {
    var p = pollfd(fd: fd, events: events, revents: 0)
    guard poll(&p, 1, 5000) == 1 else { throw CycleFailed() }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .syscalls, .contextSwitches],
        warmupIterations: 100,
        scalingFactor: .kilo,
        maxDuration: .seconds(2),
        maxIterations: 1_000_000,
        // `thresholds check` compares each benchmark's p90 with Thresholds/<name>.p90.json, so the
        // tolerance is keyed at .p90 (keyed at .p50 alone, the check compared nothing and always
        // passed): 25 mallocs per sample either way, a sample being 1,000 operations (one for
        // accept). One malloc more per operation is 1,000 more; the tool's own sampling varies by a few.
        thresholds: [.mallocCountTotal: .init(relative: [.p50: 10.0], absolute: [.p50: 2, .p90: 25])]
    )

    for name in ["select", "completion"] {
        let make: @Sendable () throws -> any IOBackend = {
            if name == "select" { return try SelectBackend() }
            return try CompletionBackend()
        }

        // Data is already there: the nowait recv completes at once (no message).
        Benchmark("recv-nowait-data-ready-\(name)") { benchmark in
            let f = try Fixture(make())
            defer { f.close() }
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                try f.client.send(payload)
                guard case .done(let d) = try f.server.recv(length: 64, nowait: f.mailbox), d.count == 64 else {
                    throw CycleFailed()
                }
                blackHole(d)
            }
        }

        // Nothing there yet: the recv must wait; the data's arrival comes as a message.
        Benchmark("recv-nowait-waits-for-message-\(name)") { benchmark in
            let f = try Fixture(make())
            defer { f.close() }
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                let pending = try f.server.recv(length: 64, nowait: f.mailbox)
                try f.client.send(payload)
                guard let handle = pending.handle, let m = f.mailbox.receive(handle: handle) else { throw CycleFailed() }
                switch m {
                case .select:
                    guard case .done(let d) = try f.server.recv(length: 64, nowait: f.mailbox) else { throw CycleFailed() }
                    blackHole(d)
                case .completion(_, _, .received(let d)):
                    blackHole(d)
                default:
                    throw CycleFailed()
                }
            }
        }

        // A 64-byte send that the kernel takes at once, then drained by the peer.
        Benchmark("send-nowait-64B-\(name)") { benchmark in
            let f = try Fixture(make())
            defer { f.close() }
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                guard case .done = try f.server.send(payload, nowait: f.mailbox) else { throw CycleFailed() }
                blackHole(try f.client.recv(length: 64))
            }
        }

        // recv(into:timeout:) with the data already there: the kernel (select: recv(2); completion:
        // the ring) writes into the caller's buffer, and nothing should be allocated. The peer
        // sends with send(2) itself, so only ESock's receive is counted.
        Benchmark("recv-into-buffer-data-ready-\(name)") { benchmark in
            let f = try Fixture(make())
            defer { f.close() }
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 16)
            defer { buffer.deallocate() }
            try payload.withUnsafeBytes { bytes in
                benchmark.startMeasurement()
                for _ in benchmark.scaledIterations {
                    try rawSend(f.client.fd, bytes)
                    var got = 0
                    while got < 64 {
                        got += try f.server.recv(into: UnsafeMutableRawBufferPointer(rebasing: buffer[got...]),
                                                 timeout: .seconds(5))
                    }
                    blackHole(buffer[0])
                }
                benchmark.stopMeasurement()
            }
        }

        // send(_: UnsafeRawBufferPointer, timeout:) of 64 bytes the kernel takes at once, from the
        // caller's memory (select: send(2); completion: a send on the ring pointing into it). The
        // peer drains with recv(2) itself, so only ESock's send is counted.
        Benchmark("send-from-buffer-64B-\(name)") { benchmark in
            let f = try Fixture(make())
            defer { f.close() }
            let drain = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 16)
            defer { drain.deallocate() }
            try payload.withUnsafeBytes { bytes in
                benchmark.startMeasurement()
                for _ in benchmark.scaledIterations {
                    guard try f.server.send(bytes, timeout: .seconds(5)) == 64 else { throw CycleFailed() }
                    try rawRecv(f.client.fd, drain)
                }
                benchmark.stopMeasurement()
            }
        }

        // A client connects; the listener's nowait accept takes it. Iterations stay well under the
        // ephemeral port range: every cycle leaves a TIME_WAIT connection behind.
        Benchmark("accept-nowait-\(name)", configuration: .init(scalingFactor: .one, maxIterations: 5_000)) { benchmark in
            let f = try Fixture(make())
            defer { f.close() }
            let address = try f.listener.sockname()
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                let c = try Socket.open(.inet, .stream, .tcp, backend: f.client.ioBackend)
                try c.connect(address, timeout: .seconds(5))
                var accepted: Socket?
                switch try f.listener.accept(nowait: f.mailbox) {
                case .done(let s): accepted = s
                case .select(let info, _):
                    _ = f.mailbox.receive(handle: info.handle)
                    if case .done(let s) = try f.listener.accept(nowait: f.mailbox) { accepted = s }
                case .completion(let info):
                    if case .completion(_, _, .accepted(let s))? = f.mailbox.receive(handle: info.handle) { accepted = s }
                }
                guard let s = accepted else { throw CycleFailed() }
                try s.close()
                try c.close()
            }
        }
    }
}
