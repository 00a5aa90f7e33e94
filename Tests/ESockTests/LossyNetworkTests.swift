import ESock
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A network namespace whose loopback loses packets: an nftables rule in its input hook drops
/// every `n`-th packet it matches (`numgen inc mod n 0 drop`, a counter, not chance, so which
/// share is lost is fixed; which packets it hits depends on what else crosses the link).
///
/// Loopback has no qdisc to emulate loss with here (sch_netem is missing from some kernels), and
/// a packet filter works wherever nftables does; a dropped packet is lost as on a real link: TCP
/// retransmits it, a datagram is gone.
struct LossyNamespace {
    let namespace: TestNamespace
    var path: String { namespace.path }

    /// `match` selects the packets the rule counts (nft syntax, e.g. `meta l4proto udp`);
    /// `mtu` is set on lo (1500 makes a stream many segments, as on Ethernet).
    init(_ name: String, match: String, every n: Int, mtu: Int = 1500) throws {
        try self.init(name, rule: [match, "numgen", "inc", "mod", "\(n)", "0", "counter", "drop"], mtu: mtu)
    }

    /// A namespace that loses nothing until ``vanishPeers(of:)``.
    init(_ name: String) throws {
        try self.init(name, rule: nil, mtu: 1500)
    }

    private init(_ name: String, rule: [String]?, mtu: Int) throws {
        guard let made = TestNamespace(name) else { throw LossyNamespaceError(step: "ip netns add \(name)") }
        namespace = made
        do {
            try Self.run(["ip", "-n", name, "link", "set", "lo", "mtu", "\(mtu)", "up"])
            try nft(["add", "table", "inet", "esock"])
            try nft(["add", "chain", "inet", "esock", "in", "{ type filter hook input priority 0 ; }"])
            if let rule { try nft(["add", "rule", "inet", "esock", "in"] + rule) }
        } catch {
            namespace.delete()
            throw error
        }
    }

    /// A TCP connection made in the namespace (before any loss that would delay it; a lost
    /// handshake ACK costs the SYN-ACK's retransmission, 1 s).
    func connectedPair(on io: any IOBackend) throws -> Pair {
        try ESockTests.connectedPair(on: io, netns: path, timeout: .seconds(30))
    }

    /// The peers of `sockets` vanish: TCP gives up on what they send once it has gone
    /// unacknowledged for 300 ms (TCP_USER_TIMEOUT), and from now on every TCP packet is lost.
    func vanishPeers(of sockets: [Socket]) throws {
        for s in sockets { try s.setopt(.tcp(.userTimeout), .int(300)) }
        try nft(["add", "rule", "inet", "esock", "in", "meta l4proto tcp", "drop"])
    }

    /// nft(8) with `arguments`, in the namespace.
    private func nft(_ arguments: [String]) throws {
        try Self.run(["ip", "netns", "exec", namespace.name, "nft"] + arguments)
    }

    private static func run(_ step: [String]) throws {
        guard runProgram(step) == 0 else { throw LossyNamespaceError(step: step.joined(separator: " ")) }
    }

    /// Packets the rule dropped so far (its counter), or nil when nft's listing cannot be read.
    func dropped() -> Int? {
        guard let listing = programOutput("ip netns exec \(namespace.name) nft list chain inet esock in") else { return nil }
        // "... counter packets N bytes M drop"
        let words = listing.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" })
        guard let at = words.indices.first(where: { words[$0] == "packets" && $0 > 0 && words[$0 - 1] == "counter" }),
              at + 1 < words.count else { return nil }
        return Int(words[at + 1])
    }

    func delete() { namespace.delete() }
}

struct LossyNamespaceError: Error, CustomStringConvertible {
    let step: String
    var description: String { "failed: \(step)" }
}

/// What a shell command prints on its standard output, or nil when it cannot run or fails.
func programOutput(_ command: String) -> String? {
    guard let pipe = popen(command, "r") else { return nil }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = fread(&chunk, 1, chunk.count, pipe)
        if n <= 0 { break }
        out += chunk[0..<n]
    }
    return pclose(pipe) == 0 ? String(decoding: out, as: UTF8.self) : nil
}

/// Deterministic sizes between 1 and `max` (a linear congruential sequence from `seed`).
func chunkSizes(total: Int, max: Int, seed: UInt64) -> [Int] {
    var state = seed
    var sizes: [Int] = []
    var left = total
    while left > 0 {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        let size = min(left, 1 + Int((state >> 33) % UInt64(max)))
        sizes.append(size)
        left -= size
    }
    return sizes
}

/// The calls over a link that loses packets: what TCP retransmits arrives whole and in order
/// whatever shape its arrival takes (bursts after a gap, many small segments); a lost datagram
/// is gone without a trace in the ones that arrive; a connect whose SYN is lost waits for the
/// kernel's retransmission, or times out.
///
/// Each test's blocking calls run on a thread of its own (`onOwnExecutor`), not on the task
/// pool's: waits for TCP's retransmissions take seconds, and on a 2-vCPU machine the pool has
/// two threads that other tests' tasks need meanwhile.
@Suite("A lossy network (a namespace whose loopback drops packets)", .leakChecked, .timeLimit(.minutes(3)))
struct LossyNetworkTests {
    @Test("a stream echoed over a link losing every 9th segment arrives whole and in order",
          .requires(.packetFilter), arguments: Backend.allCases)
    func streamThroughLoss(_ backend: Backend) async throws {
        let io = try backend.instance()
        try await onOwnExecutor { _ in
            // Connection set-up and tear-down are not dropped (a lost SYN or FIN costs a second's
            // retransmission timeout and tests nothing the data does not).
            let lossy = try LossyNamespace("esock-loss-s-\(getpid())-\(backend.rawValue)",
                                           match: "tcp flags & (syn|fin|rst) == 0", every: 9)
            defer { lossy.delete() }
            let pair = try lossy.connectedPair(on: io)
            defer { pair.closeAll() }
            let (client, server) = (pair.client, pair.server)

            let total = 384 * 1024
            let data = pattern(total, seed: 11)
            // The echo side receives whatever has arrived and sends it back, until the end of the
            // stream; then it closes its side.
            let echo = onThread {
                while true {
                    let got: [UInt8]
                    do {
                        got = try server.recv(timeout: .seconds(60))
                    } catch let error as SocketError where error == .closed {
                        break
                    }
                    try server.send(got, timeout: .seconds(60))
                }
                try server.shutdown(.write)
            }
            // The sender writes the data in chunks of varied sizes, then ends its side.
            let sender = onThread {
                var offset = 0
                for size in chunkSizes(total: total, max: 20_000, seed: 3) {
                    try client.send(Array(data[offset..<(offset + size)]), timeout: .seconds(60))
                    offset += size
                }
                try client.shutdown(.write)
            }
            // The client reads the echo back with receives of a length, of varied sizes.
            var echoed: [UInt8] = []
            echoed.reserveCapacity(total)
            for size in chunkSizes(total: total, max: 30_000, seed: 5) {
                echoed += try client.recv(length: size, timeout: .seconds(60))
            }
            #expect(throws: SocketError.closed) { try client.recv(timeout: .seconds(60)) }
            try sender()
            try echo()
            #expect(echoed.count == total)
            #expect(echoed == data, "the echoed stream differs from what was sent")
            let dropped = try #require(lossy.dropped(), "nft's counter could not be read")
            #expect(dropped > 0, "the link lost nothing: the test did not test loss")
        }
    }

    @Test("datagrams over a link losing every 5th: the rest arrive intact, once, in order",
          .requires(.packetFilter), arguments: Backend.allCases)
    func datagramsThroughLoss(_ backend: Backend) async throws {
        let io = try backend.instance()
        try await onOwnExecutor { _ in
            let lossy = try LossyNamespace("esock-loss-d-\(getpid())-\(backend.rawValue)",
                                           match: "meta l4proto udp", every: 5)
            defer { lossy.delete() }
            let a = try Socket.open(.inet, .dgram, .udp, netns: lossy.path, backend: io)
            let b = try Socket.open(.inet, .dgram, .udp, netns: lossy.path, backend: io)
            defer { try? a.close(); try? b.close() }
            try a.bind(.loopback(port: 0))
            try b.bind(.loopback(port: 0))
            let sent = 50
            // Datagram i: its index, then bytes of a pattern seeded by it (1 to 3,000 bytes in all).
            func datagram(_ i: Int) -> [UInt8] { [UInt8(i)] + pattern((i * 613) % 3000, seed: i) }
            for i in 0..<sent {
                #expect(try a.sendto(datagram(i), to: b.sockname(), timeout: .seconds(5)).isEmpty)
            }
            // Only the namespace's two sockets send UDP there: the rule drops exactly every 5th,
            // the 1st, 6th, 11th, ... (indexes 0, 5, 10, ...).
            var indexes: [Int] = []
            for _ in 0..<(sent - sent / 5) {
                let (source, data) = try b.recvfrom(bufferSize: 4096, timeout: .seconds(10))
                #expect(source == (try a.sockname()))
                let i = Int(try #require(data.first))
                #expect(data == datagram(i), "datagram \(i) arrived changed")
                indexes.append(i)
            }
            #expect(indexes == (0..<sent).filter { $0 % 5 != 0 })
            // Nothing more comes: what was lost stays lost, nothing is delivered twice.
            #expect(throws: SocketError.timeout) { try b.recvfrom(bufferSize: 4096, timeout: .milliseconds(100)) }
            #expect(lossy.dropped() == sent / 5)
        }
    }

    @Test("a connect whose SYN is lost times out, or waits for the retransmitted SYN",
          .requires(.packetFilter), arguments: Backend.allCases)
    func connectThroughLostSyn(_ backend: Backend) async throws {
        let io = try backend.instance()
        try await onOwnExecutor { _ in
            // Every other first SYN (the SYN-ACK carries ACK, so `flags == syn` is the client's).
            let lossy = try LossyNamespace("esock-loss-c-\(getpid())-\(backend.rawValue)",
                                           match: "tcp flags == syn", every: 2)
            defer { lossy.delete() }
            let listener = try Socket.open(.inet, .stream, .tcp, netns: lossy.path, backend: io)
            defer { try? listener.close() }
            try listener.bind(.loopback(port: 0))
            try listener.listen()
            let address = try listener.sockname()

            // SYN 1 is dropped: the connect's time runs out before the kernel's first
            // retransmission (1 s), and the socket closes cleanly.
            let first = try Socket.open(.inet, .stream, .tcp, netns: lossy.path, backend: io)
            #expect(throws: SocketError.timeout) { try first.connect(address, timeout: .milliseconds(200)) }
            try first.close()
            // SYN 2 passes.
            let second = try Socket.open(.inet, .stream, .tcp, netns: lossy.path, backend: io)
            defer { try? second.close() }
            try second.connect(address, timeout: .seconds(30))
            // SYN 3 is dropped and its retransmission, SYN 4, passes: the connect waits for it.
            let third = try Socket.open(.inet, .stream, .tcp, netns: lossy.path, backend: io)
            defer { try? third.close() }
            try third.connect(address, timeout: .seconds(30))
            #expect(lossy.dropped() == 2)

            // Both connections work.
            for s in [second, third] {
                let accepted = try listener.accept(timeout: .seconds(30))
                defer { try? accepted.close() }
                try s.send([1, 2, 3], timeout: .seconds(30))
                #expect(try accepted.recv(length: 3, timeout: .seconds(30)) == [1, 2, 3])
            }
        }
    }

    @Test("a peer that vanishes: a waiting receive fails with etimedout when TCP gives up, not with the call's timeout",
          .requires(.packetFilter), arguments: Backend.allCases)
    func peerVanishes(_ backend: Backend) async throws {
        let io = try backend.instance()
        try await onOwnExecutor { _ in
            let lossy = try LossyNamespace("esock-loss-v-\(getpid())-\(backend.rawValue)")
            defer { lossy.delete() }
            let pair = try lossy.connectedPair(on: io)
            defer { pair.closeAll() }
            let (client, server) = (pair.client, pair.server)
            // A second connection whose receive waits in the nowait form, for a message.
            let nowaitPair = try lossy.connectedPair(on: io)
            defer { nowaitPair.closeAll() }
            let nowaitClient = nowaitPair.client
            try lossy.vanishPeers(of: [client, nowaitClient])
            let mailbox = Mailbox()
            let pending = try nowaitClient.recv(nowait: mailbox)
            #expect(pending.handle != nil, "a receive with nothing to read did not wait: \(pending)")
            try nowaitClient.send(pattern(1000), timeout: .seconds(5))

            // A receive waits; data sent now is never acknowledged; when TCP aborts the
            // connection the waiting receive fails with the connection's error.
            let receive = onThread {
                do {
                    let got = try client.recv(timeout: .seconds(60))
                    Issue.record("a receive on a connection whose peer vanished returned \(got.count) bytes")
                } catch let error as SocketError {
                    #expect(error == .posix(ETIMEDOUT), "the waiting receive failed with \(error)")
                }
            }
            try client.send(pattern(1000), timeout: .seconds(5))
            try receive()
            // The nowait receive's message: on select a select message, and the call made again
            // fails; on completion the completion message carries the failure.
            let message = try expectMessage(mailbox, pending.handle, timeout: .seconds(60))
            switch message {
            case .select:
                #expect(throws: SocketError.posix(ETIMEDOUT)) { _ = try nowaitClient.recv(nowait: mailbox) }
            case .completion(_, _, .failed(let error)):
                #expect(error == .posix(ETIMEDOUT))
            default:
                Issue.record("unexpected message \(message)")
            }
            // The connection is gone: a send fails, and nothing reached the other side.
            #expect(throws: SocketError.self) { try client.send([1], timeout: .seconds(5)) }
            #expect(throws: SocketError.timeout) { try server.recv(timeout: .milliseconds(50)) }
        }
    }

    @Test("a peer that vanishes: an async receive fails with etimedout when TCP gives up",
          .requires(.packetFilter), arguments: Backend.allCases)
    func peerVanishesAsync(_ backend: Backend) async throws {
        let io = try backend.instance()
        let lossy = try LossyNamespace("esock-loss-a-\(getpid())-\(backend.rawValue)")
        defer { lossy.delete() }
        let pair = try lossy.connectedPair(on: io)
        defer { pair.closeAll() }
        let client = pair.client
        try lossy.vanishPeers(of: [client])
        try await onOwnExecutor { _ in
            async let received = client.recv(timeout: .seconds(60))
            try await client.send(pattern(1000), timeout: .seconds(5))
            do {
                let got = try await received
                Issue.record("an async receive on a connection whose peer vanished returned \(got.count) bytes")
            } catch let error as SocketError {
                #expect(error == .posix(ETIMEDOUT), "the async receive failed with \(error)")
            }
        }
    }
}
