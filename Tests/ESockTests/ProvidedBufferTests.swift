#if canImport(Glibc)
import Glibc
#endif
import CESockShims
@testable import ESock
import Testing

/// Receives of "whatever is available" on the completion backend read into the provided-buffer
/// ring (consumed a part at a time where the kernel can, IOU_PBUF_RING_INC, whole buffers
/// elsewhere): the bytes arrive whole and in order whatever buffer and offset they landed at,
/// across many connections, when the ring runs dry, and for a datagram larger than a buffer.
@Suite("Provided buffers: receives of whatever is available", .leakChecked)
struct ProvidedBufferTests {
    /// Starts a nowait receive of whatever is available, lets `send` run, and returns what the
    /// receive got, following the backend's model.
    private static func receiveAround(_ s: Socket, send: () throws -> Void) throws -> [UInt8] {
        let mb = Mailbox()
        let first = try s.recv(nowait: mb)
        try send()
        switch first {
        case .done(let d):
            return d
        case .select(let info, _):
            _ = try expectMessage(mb, info.handle)
            // The same caller takes its turn again (OTP's select model).
            guard case .done(let d) = try s.recv(nowait: mb) else {
                Issue.record("no data after the select message"); return []
            }
            return d
        case .completion(let info):
            guard case .completion(_, _, .received(let d)) = try expectMessage(mb, info.handle) else {
                Issue.record("expected a completion with data"); return []
            }
            return d
        }
    }

    @Test("a datagram larger than a provided buffer arrives whole through a waiting receive", arguments: Backend.allCases)
    func largeDatagram(backend: Backend) throws {
        let (a, b) = try udpPair(on: backend)
        defer { try? a.close(); try? b.close() }
        try a.connect(b.sockname())
        try b.connect(a.sockname())
        let datagram = pattern(40_000, seed: 3)
        let got = try Self.receiveAround(b) { _ = try a.send(datagram, timeout: .seconds(5)) }
        #expect(got.count == datagram.count)
        #expect(got.count != datagram.count || got == datagram, "the datagram's bytes differ")
    }

    /// `count` connections to one listener on `io`, the client's side first.
    private static func connections(_ count: Int, on io: any IOBackend) throws -> (Socket, [(client: Socket, server: Socket)]) {
        let l = try listener(on: io)
        var pairs: [(client: Socket, server: Socket)] = []
        for _ in 0..<count {
            let c = try Socket.open(.inet, .stream, .tcp, backend: io)
            try c.connect(l.sockname(), timeout: .seconds(5))
            // Each message leaves at once (no wait for the previous one's delayed ACK).
            try c.setopt(.tcp(.nodelay), .bool(true))
            pairs.append((c, try l.accept(timeout: .seconds(5))))
        }
        return (l, pairs)
    }

    /// Nowait receives of whatever is available on many sockets, started before the data is
    /// sent (so that they wait: on the completion backend, for the socket's multishot receive
    /// reading into the provided buffers), then followed until each socket has its count.
    private struct Receives {
        let sockets: [Socket]
        let mailbox = Mailbox()
        var got: [[UInt8]]
        var waiting: [Handle?]

        init(_ sockets: [Socket]) throws {
            self.sockets = sockets
            got = Array(repeating: [], count: sockets.count)
            waiting = Array(repeating: nil, count: sockets.count)
            for i in sockets.indices { try start(i) }
        }

        private mutating func start(_ i: Int) throws {
            switch try sockets[i].recv(nowait: mailbox) {
            case .done(let d): got[i] += d
            case .select(let info, let partial): got[i] += partial ?? []; waiting[i] = info.handle
            case .completion(let info): waiting[i] = info.handle
            }
        }

        /// Follows socket `i` until it has `n` bytes.
        mutating func finish(_ i: Int, _ n: Int) throws -> [UInt8] {
            while got[i].count < n {
                if let h = waiting[i] {
                    waiting[i] = nil
                    switch try expectMessage(mailbox, h) {
                    case .completion(_, _, .received(let d)): got[i] += d
                    case .select: break
                    case let m: Issue.record("unexpected \(m)"); return got[i]
                    }
                    if got[i].count >= n { break }
                }
                try start(i)
            }
            defer { got[i] = [] }
            return got[i]
        }
    }

    /// Rounds of messages of changing sizes on many connections: each round every client sends
    /// one, then every server side reads what is available until it has it. Every connection's
    /// bytes come whole and in order while the receives' data lands at changing buffers and
    /// offsets (the incremental ring's 512 KiB is gone round several times).
    @Test("many connections, messages of changing sizes: every byte in order", arguments: Backend.allCases)
    func manyConnections(backend: Backend) throws {
        let io = try backend.instance()
        try Self.exchange(on: io, connections: 24, rounds: 30)
    }

    private static func exchange(on io: any IOBackend, connections: Int, rounds: Int) throws {
        let (l, pairs) = try Self.connections(connections, on: io)
        defer { for p in pairs { try? p.client.close(); try? p.server.close() }; try? l.close() }
        let source = pattern(6000 + 251)
        for round in 0..<rounds {
            var receives = try Receives(pairs.map(\.server))
            var sent: [[UInt8]] = []
            for (i, p) in pairs.enumerated() {
                let size = 1 + (round * 977 + i * 613) % 6000
                let start = (round + i) % 251
                let message = Array(source[start..<start + size])
                try p.client.send(message, timeout: .seconds(10))
                sent.append(message)
            }
            for i in pairs.indices {
                let got = try receives.finish(i, sent[i].count)
                #expect(got.count == sent[i].count, "connection \(i), round \(round)")
                if got != sent[i] {
                    Issue.record("connection \(i), round \(round): the bytes differ")
                    return
                }
            }
        }
    }

    /// A completion backend of its own whose provided-buffer ring is two 4 KiB buffers (or
    /// `count`), consumed incrementally (where the kernel has it) or whole, its multishot
    /// receives asking for bundles or not; shut it down at the end.
    private static func twoBufferRing(incremental: Bool, count: UInt32 = 2, bundles: Bool = false) throws -> CompletionBackend {
        var config = CompletionBackend.Configuration()
        config.receiveBundles = bundles
        if incremental {
            config.incrementalBuffers = count
            config.incrementalBufferSize = 4096
        } else {
            config.incrementalBuffers = 0
            config.providedBuffers = count
            config.providedBufferSize = 4096
        }
        return try CompletionBackend(configuration: config)
    }

    /// Runs `body` with one connection on a two-buffer ring (``twoBufferRing(incremental:count:bundles:)``):
    /// its client and server sockets and a reader of the ring's counters; closes all after.
    private static func withOneStream(incremental: Bool,
                                      _ body: (_ client: Socket, _ server: Socket, _ counter: (String) -> UInt64) throws -> Void) throws {
        let ring = try twoBufferRing(incremental: incremental)
        defer { ring.shutdown() }
        let (l, pairs) = try connections(1, on: ring)
        let (client, server) = pairs[0]
        defer { try? client.close(); try? server.close(); try? l.close() }
        try body(client, server) { ring.info().counters[$0] ?? 0 }
    }

    /// Whether this kernel has receive bundles (`IORING_FEAT_RECVSEND_BUNDLE`, Linux 6.10+).
    private static func kernelHasBundles() throws -> Bool {
        let ring = try Ring(entries: 2, completionEntries: 4, flags: 0)
        defer { ring.close() }
        return ring.features & ESOCK_FEAT_RECVSEND_BUNDLE != 0
    }

    /// The running kernel's version as (major, minor), from uname(2).
    private static func kernelVersion() -> (Int, Int) {
        var u = utsname()
        uname(&u)
        let release = withUnsafeBytes(of: &u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let parts = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        return (parts.first ?? 0, parts.count > 1 ? parts[1] : 0)
    }

    /// Multishot receives asking for bundles, on a ring of four 4 KiB buffers (incremental and
    /// whole), eight connections sending 64 KiB each at once: a CQE's data fills several buffers
    /// and is read across them in the ring's order; every byte comes whole and in order, and the
    /// ring keeps serving messages of changing sizes after. Where the kernel has no bundles the
    /// backend says so and receives one buffer per CQE.
    @Test("receive bundles: a CQE's data across several buffers, every byte in order", .requires(.ioUring),
          arguments: [true, false])
    func receiveBundles(incremental: Bool) throws {
        let ring = try Self.twoBufferRing(incremental: incremental, count: 4, bundles: true)
        defer { ring.shutdown() }
        let kernelBundles = try Self.kernelHasBundles()
        let said = ring.info().settings["receive_bundles"]
        if kernelBundles {
            #expect(said == "on")
        } else {
            #expect(said?.hasPrefix("off (the kernel has no IORING_FEAT_RECVSEND_BUNDLE") == true, "\(said ?? "nil")")
        }
        let (l, pairs) = try Self.connections(8, on: ring)
        defer { for p in pairs { try? p.client.close(); try? p.server.close() }; try? l.close() }
        let messages = (0..<pairs.count).map { pattern(64 * 1024, seed: $0 * 7 + 3) }
        var receives = try Receives(pairs.map(\.server))
        for (i, p) in pairs.enumerated() { try p.client.send(messages[i], timeout: .seconds(10)) }
        for i in pairs.indices {
            let got = try receives.finish(i, messages[i].count)
            #expect(got.count == messages[i].count && got == messages[i], "connection \(i)")
        }
        try Self.exchange(on: ring, connections: 8, rounds: 10)
        let bundled = ring.info().counters["bundled_completions"] ?? 0
        let incrementalRing = ring.info().settings["provided_buffers"]?.hasSuffix("incremental") == true
        if !kernelBundles {
            #expect(bundled == 0)
            Machine.skipPart("CQEs of several buffers", because: "the kernel has no receive bundles (Linux 6.10+)")
        } else if incrementalRing && Self.kernelVersion() < (6, 15) {
            // Before 6.15 the kernel fills one incremental buffer per CQE, bundle or not.
            Machine.skipPart("CQEs of several incremental buffers", because: "bundles of incremental buffers need Linux 6.15+")
        } else {
            #expect(bundled > 0, "CQEs whose data filled several buffers: \(bundled)")
        }
    }

    /// The walk through a bundle's buffers, without a kernel consuming them: CQEs as the kernel
    /// would post them for a ring of four 8-byte buffers, each buffer filled with its own id,
    /// some given back out of order, so that the ring's order is not the buffers' ids. Each
    /// CQE's bytes come from the buffers that follow one another in the ring, from the offset
    /// the buffer was consumed to, and only the buffer the kernel keeps is not given back.
    @Test("a bundle's CQE is read through the buffers in the ring's order", .requires(.ioUring),
          arguments: [true, false])
    func bundleWalk(incremental: Bool) throws {
        let ring = try Ring(entries: 2, completionEntries: 4, flags: 0)
        defer { ring.close() }
        let buffers: ProvidedBuffers
        do {
            buffers = try ProvidedBuffers(on: ring, count: 4, size: 8, incremental: incremental)
        } catch {
            // Incremental rings need Linux 6.12+.
            Machine.skipPart("the walk through incremental buffers", because: "the kernel refused IOU_PBUF_RING_INC (\(error))")
            return
        }
        defer { buffers.release(from: ring) }
        func flags(_ id: UInt16, kept: Bool = false) -> UInt32 {
            ESOCK_CQE_F_BUFFER | UInt32(id) << ESOCK_CQE_BUFFER_SHIFT | (kept ? ESOCK_CQE_F_BUF_MORE : 0)
        }
        // Each buffer's 8 bytes hold its id.
        for id in 0..<4 { buffers.memory(of: id).initializeMemory(as: UInt8.self, repeating: UInt8(id)) }
        func read(_ f: UInt32, _ n: Int32) -> [UInt8] {
            var out = [UInt8](repeating: 0xFF, count: 64)
            let copied = out.withUnsafeMutableBytes { buffers.copyOut(flags: f, result: n, into: $0) }
            return Array(out[0..<copied])
        }
        if incremental {
            // 3 bytes of buffer 0, which the kernel keeps; then 5 + 8 + 2 bytes from buffer 0 on:
            // the rest of 0, all of 1, the start of 2 (kept).
            #expect(read(flags(0, kept: true), 3) == [0, 0, 0])
            #expect(buffers.spansBuffers(flags: flags(0, kept: true), result: 15))
            #expect(read(flags(0, kept: true), 15) == [UInt8](repeating: 0, count: 5) + [UInt8](repeating: 1, count: 8) + [2, 2])
            // The end of buffer 2 and all of 3: 2 then 3; both go back (0 and 1 went back before).
            #expect(read(flags(2), 6 + 8) == [UInt8](repeating: 2, count: 6) + [UInt8](repeating: 3, count: 8))
            // The ring's order is now 0, 1, 2, 3 again: 8 + 8 from buffer 0.
            #expect(read(flags(0), 16) == [UInt8](repeating: 0, count: 8) + [UInt8](repeating: 1, count: 8))
        } else {
            // Buffers 0 and 1 come back in the opposite order: the ring is 2, 3, 1, 0.
            let one = try #require(buffers.data(flags: flags(0), result: 8))
            let two = try #require(buffers.data(flags: flags(1), result: 8))
            if let id = two.giveBack { buffers.giveBack(id) }
            if let id = one.giveBack { buffers.giveBack(id) }
            #expect(!buffers.spansBuffers(flags: flags(2), result: 8))
            #expect(buffers.spansBuffers(flags: flags(2), result: 9))
            // 8 + 8 + 8 + 3 bytes from buffer 2 on: 2, 3, then 1 (given back first), then 0.
            #expect(read(flags(2), 27) == [UInt8](repeating: 2, count: 8) + [UInt8](repeating: 3, count: 8)
                    + [UInt8](repeating: 1, count: 8) + [0, 0, 0])
            // Every buffer went back, in the walk's order: the ring is 2, 3, 1, 0 again.
            #expect(read(flags(2), 32) == [UInt8](repeating: 2, count: 8) + [UInt8](repeating: 3, count: 8)
                    + [UInt8](repeating: 1, count: 8) + [UInt8](repeating: 0, count: 8))
        }
    }

    /// A ring of two 4 KiB buffers (incremental where the kernel has it, and whole buffers) and
    /// eight connections sending 64 KiB each at once: the multishot receives run out of buffers
    /// (ENOBUFS) and the receives go on without them; nothing is lost or reordered.
    @Test("a ring that runs dry: receives armed again, every byte in order", .requires(.ioUring),
          arguments: [true, false])
    func ringRunsDry(incremental: Bool) throws {
        let ring = try Self.twoBufferRing(incremental: incremental)
        defer { ring.shutdown() }
        let shape = ring.info().settings["provided_buffers"]
        if incremental && ring.info().settings["provided_buffers_fallback"] == nil {
            #expect(shape == "2 x 4096, incremental")
        } else {
            #expect(shape == "2 x 4096")
        }
        let (l, pairs) = try Self.connections(8, on: ring)
        defer { for p in pairs { try? p.client.close(); try? p.server.close() }; try? l.close() }
        let messages = (0..<pairs.count).map { pattern(64 * 1024, seed: $0 * 5) }
        var receives = try Receives(pairs.map(\.server))
        for (i, p) in pairs.enumerated() { try p.client.send(messages[i], timeout: .seconds(10)) }
        for i in pairs.indices {
            let got = try receives.finish(i, messages[i].count)
            #expect(got.count == messages[i].count && got == messages[i], "connection \(i)")
        }
        // 512 KiB through 8 KiB of buffers: receivers ran dry.
        let dry = ring.info().counters["receivers_ran_dry"] ?? 0
        #expect(dry >= 1, "receivers that ran dry: \(dry)")
        try Self.exchange(on: ring, connections: 8, rounds: 10)
    }

    /// A stream that outruns the provided buffers: its receiver runs dry once, and the stream's
    /// receives go on without one (read directly, or an SQE each) instead of arming a receiver
    /// that runs dry again for every few buffers of data; once the data comes slowly (a receive
    /// through the ring gets little), a receive waits on a receiver again. Every byte in order.
    @Test("a stream that outruns the buffers stops arming receivers, and arms one again when it slows",
          .requires(.ioUring), arguments: [true, false])
    func streamOutrunsBuffers(incremental: Bool) throws {
        try Self.withOneStream(incremental: incremental) { client, server, counter in
            let armedBefore = counter("multishot_receivers")
            // 512 KiB through 8 KiB of buffers, sent by another thread while a receive waits.
            let stream = pattern(512 * 1024, seed: 11)
            let sent = onThread { _ = try client.send(stream, timeout: .seconds(20)) }
            var receives = try Receives([server])
            let got = try receives.finish(0, stream.count)
            try sent()
            #expect(got.count == stream.count && got == stream, "the stream's bytes differ")
            let dry = counter("receivers_ran_dry")
            let armed = counter("multishot_receivers") - armedBefore
            #expect(dry >= 1, "the receiver never ran dry: the test's premise failed")
            // Before: a receiver armed again each time one ran dry (some 60 for this stream).
            #expect(armed <= 3, "receivers armed for the stream: \(armed), ran dry: \(dry)")
            // Small messages: the first receive through the ring gets little, and a later one
            // waits on a receiver again.
            for round in 0..<4 {
                let message = pattern(100, seed: round)
                var small = try Receives([server])
                try client.send(message, timeout: .seconds(5))
                #expect(try small.finish(0, message.count) == message, "round \(round)")
            }
            #expect(counter("multishot_receivers") - armedBefore > armed, "no receiver was armed again")
        }
    }

    /// A receiver that ends for want of buffers (ENOBUFS) after emptying the ring by itself
    /// leaves data queued on the socket: the receives after it read the socket directly, without
    /// waiting, until they have it all, and no receiver is armed meanwhile. (Before, the first
    /// receive after the end armed a receiver at once, whose first pass emptied the ring again:
    /// a reader that fell behind a fast stream stayed behind, at a quarter of C io_uring's
    /// throughput; docs/architecture.md, "Twenty-fourth session".)
    @Test("after a receiver ran dry, the queued data is read directly before another is armed",
          .requires(.ioUring), arguments: [true, false])
    func readsAfterRunningDry(incremental: Bool) throws {
        try Self.withOneStream(incremental: incremental) { client, server, counter in
            let armedBefore = counter("multishot_receivers")
            let dryBefore = counter("receivers_ran_dry")
            let mb = Mailbox()
            // A receive waits: the socket's receiver is armed.
            guard case .completion(let info) = try server.recv(nowait: mb) else {
                Issue.record("the receive did not wait for the ring"); return
            }
            // 48 KiB at once, one segment on loopback: the receiver's first pass fills both 4 KiB
            // buffers and ends with ENOBUFS, 40 KiB still queued.
            let data = pattern(48 * 1024, seed: 3)
            try client.send(data, timeout: .seconds(5))
            guard case .completion(_, _, .received(var got)) = try expectMessage(mb, info.handle) else {
                Issue.record("expected the waiting receive's data"); return
            }
            waitUntil("the receiver ran dry") { counter("receivers_ran_dry") > dryBefore }
            while got.count < data.count {
                switch try server.recv(nowait: mb) {
                case .done(let d): got += d
                case let other:
                    Issue.record("a receive waited with \(data.count - got.count) bytes queued: \(other)")
                    return
                }
            }
            #expect(got == data, "the stream's bytes differ")
            #expect(counter("multishot_receivers") == armedBefore + 1, "a receiver was armed while data was queued")
        }
    }

    /// Which receivers that ran dry leave their socket to direct reads: those that emptied at
    /// least half the ring by themselves (one stream with more queued than the ring holds), not
    /// the many that share the ring and run it dry together, each with a sliver.
    @Test("a receiver that emptied the ring by itself, and one that took a sliver")
    func emptiedRing() {
        let features = RingFeatures()
        let rules = CompletionRules(gate: PollGate(), features: features, ringSends: true)
        #expect(!rules.emptiedRing(bytes: 1 << 20), "no ring: nothing to empty")
        features.setReceiveRingBytes(8 * 65536)
        #expect(rules.emptiedRing(bytes: 8 * 65536))
        #expect(rules.emptiedRing(bytes: 4 * 65536))
        #expect(!rules.emptiedRing(bytes: 4 * 65536 - 1))
        #expect(!rules.emptiedRing(bytes: 65536))
        #expect(rules.emptiedRing(bytes: .max))
        features.setReceiveRingBytes(.max)
        #expect(!rules.emptiedRing(bytes: 1 << 40))
        #expect(rules.emptiedRing(bytes: .max))
    }

    /// The default ring is incremental where the kernel has it (Linux 6.12+), and says why not
    /// elsewhere; a shape the kernel cannot take (not a power of two) is refused without a
    /// trap, and receives then use memory of their own.
    @Test("which ring the backend has, and a shape it cannot have", .requires(.ioUring))
    func ringShape() throws {
        let io = try Backend.completion.instance()
        let settings = io.info().settings
        if let reason = settings["provided_buffers_fallback"] {
            #expect(settings["provided_buffers"] == "512 x 16384", "\(reason)")
            #expect(reason.contains("incremental"))
        } else {
            #expect(settings["provided_buffers"] == "8 x 65536, incremental")
        }
        var config = CompletionBackend.Configuration()
        config.incrementalBuffers = 3
        config.providedBuffers = 5
        let odd = try CompletionBackend(configuration: config)
        defer { odd.shutdown() }
        #expect(odd.info().settings["provided_buffers"] == "off")
        #expect(odd.info().settings["provided_buffers_fallback"]?.contains("einval") == true,
                "\(odd.info().settings)")
        try Self.exchange(on: odd, connections: 4, rounds: 5)
        // Sizes no ring can have (empty buffers; 512 of 4 GiB) are refused before any memory is
        // taken, never a trap.
        config.incrementalBuffers = 8
        config.incrementalBufferSize = 0
        config.providedBuffers = 512
        config.providedBufferSize = .max
        let huge = try CompletionBackend(configuration: config)
        defer { huge.shutdown() }
        #expect(huge.info().settings["provided_buffers"] == "off")
        try Self.exchange(on: huge, connections: 2, rounds: 3)
    }

    /// A message that arrives when the current incremental buffer has less room left than the
    /// message: the kernel cuts it at the buffer's end and posts the rest from the next buffer
    /// in the next CQE; the two come to the waiting receive as one, as recv(2) would read it.
    @Test("a message cut at the end of a buffer reaches a waiting receive whole", .requires(.ioUring),
          arguments: [true, false])
    func cutAtBufferEnd(incremental: Bool) throws {
        let ring = try Self.twoBufferRing(incremental: incremental)
        defer { ring.shutdown() }
        let p = try connectedPair(on: ring)
        defer { p.closeAll() }
        try p.client.setopt(.tcp(.nodelay), .bool(true))
        // 3,000 bytes leave 1,096 in the first 4 KiB buffer; the next 3,000 cross its end, and
        // so on round the ring.
        for round in 0..<6 {
            let message = pattern(3000, seed: round)
            let got = try Self.receiveAround(p.server) { try p.client.send(message, timeout: .seconds(5)) }
            #expect(got.count == message.count, "round \(round)")
            #expect(got.count != message.count || got == message, "round \(round): the bytes differ")
        }
        if incremental && ring.info().settings["provided_buffers_fallback"] == nil {
            #expect((ring.info().counters["gathered_completions"] ?? 0) > 0)
        }
    }
}
