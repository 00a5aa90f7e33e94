// Per-operation costs of ESock's nowait path on each backend: time and mallocs per cycle.
// Run: cd Benchmarks/Ops && swift package --disable-sandbox benchmark --target ESockOps
// Malloc thresholds (checked in under Thresholds/): swift package benchmark thresholds check --target ESockOps
import Benchmark
import ESock

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
