@testable import ESock
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The option-value codec and getopt/setopt under seeded random input: never a trap, every
/// refusal a `SocketError`, every valid value back as it went in.
@Suite(.leakChecked) struct OptionCodecFuzzTests {
    static let kinds: [OptionSpec.Kind] = [.bool, .int, .string, .bytes, .linger, .timeval, .tos, .pmtudisc, .hops,
                                          .ipv4, .ipMreq, .ipMreqSource, .ipMsfilter, .ipv6Mreq, .domain, .type,
                                          .protocol, .credentials, .tcpInfo]

    /// A random value of a random case, often out of range.
    static func randomValue(_ rng: inout SplitMix) -> OptionValue {
        func int() -> Int {
            switch rng.next() % 4 {
            case 0: return Int(truncatingIfNeeded: rng.next())
            case 1: return Int(rng.next() % 512) - 256
            default: return Int(rng.next() % 70_000)
            }
        }
        func v4() -> IPv4Address {
            let n = rng.next()
            return IPv4Address(UInt8(truncatingIfNeeded: n), UInt8(truncatingIfNeeded: n >> 8),
                               UInt8(truncatingIfNeeded: n >> 16), UInt8(truncatingIfNeeded: n >> 24))
        }
        func bytes(_ max: UInt64) -> [UInt8] { (0..<Int(rng.next() % max)).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }
        switch rng.next() % 17 {
        case 0: return .bool(rng.next() % 2 == 0)
        case 1: return .int(int())
        case 2: return .string(String(decoding: bytes(24), as: UTF8.self))
        case 3: return .bytes(bytes(80))
        case 4: return .linger(rng.next() % 3 == 0 ? nil : int())
        case 5: return .timeval(TimeValue(seconds: Int64(int()), microseconds: Int64(int())))
        case 6: return .tos(IPTypeOfService(rawValue: UInt8(truncatingIfNeeded: rng.next())))
        case 7: return .pmtudisc([.dont, .want, .do, .probe][Int(rng.next() % 4)])
        case 8: return .hops(rng.next() % 4 == 0 ? nil : int())
        case 9: return .ipv4(v4())
        case 10: return .ipMreq(multiaddr: v4(), interface: v4())
        case 11: return .ipMreqSource(multiaddr: v4(), interface: v4(), sourceaddr: v4())
        case 12: return .ipMsfilter(multiaddr: v4(), interface: v4(), include: rng.next() % 2 == 0,
                                    sources: (0..<Int(rng.next() % 5)).map { _ in v4() })
        case 13: return .ipv6Mreq(multiaddr: IPv6Address(bytes: bytes(17)) ?? .loopback, interface: UInt32(truncatingIfNeeded: rng.next()))
        case 14: return .domain([.inet, .inet6, .local, .unspec, .native(Int32(truncatingIfNeeded: rng.next()))][Int(rng.next() % 5)])
        case 15: return .bufferSizes(count: int(), size: rng.next() % 2 == 0 ? nil : int())
        default: return .size(rng.next() % 2 == 0 ? nil : int())
        }
    }

    /// The kind a value of this case is meant for.
    static func kind(for value: OptionValue) -> OptionSpec.Kind {
        switch value {
        case .bool: return .bool
        case .string: return .string
        case .bytes: return .bytes
        case .linger: return .linger
        case .timeval: return .timeval
        case .tos: return .tos
        case .pmtudisc: return .pmtudisc
        case .hops: return .hops
        case .ipv4: return .ipv4
        case .ipMreq: return .ipMreq
        case .ipMreqSource: return .ipMreqSource
        case .ipMsfilter: return .ipMsfilter
        case .ipv6Mreq: return .ipv6Mreq
        case .domain: return .domain
        default: return .int
        }
    }

    @Test("random values against every kind: encoded or refused, and what encodes decodes back (20,000 inputs)")
    func codec() throws {
        var rng = SplitMix(seed: 0x0B7_10A5)
        var encoded = 0, roundTripped = 0
        for _ in 0..<20_000 {
            let value = Self.randomValue(&rng)
            // Half the time the kind the value is meant for, so that the range checks run.
            let kind = rng.next() % 2 == 0 ? Self.kind(for: value) : Self.kinds[Int(rng.next() % UInt64(Self.kinds.count))]
            guard let bytes = try? OptionCodec.encode(value, as: kind, for: "fuzz") else { continue }
            encoded += 1
            // The set-only structures and raw bytes do not come back as their value.
            guard ![.ipMreq, .ipMreqSource, .ipMsfilter, .ipv6Mreq].contains(kind) else { continue }
            let back = try OptionCodec.decode(bytes, as: kind, for: "fuzz")
            roundTripped += 1
            switch (value, back) {
            case (.linger(.some(0)), .linger(.some(0))), (.hops(nil), .hops(nil)): break
            case (.int(let n), .tos(let t)) where kind == .tos: #expect(Int(t.rawValue) == n)
            case (.int(let n), .hops(let h)) where kind == .hops: #expect(h == (n < 0 ? nil : n))
            case (.int(let n), .pmtudisc(let p)) where kind == .pmtudisc: #expect(Int(p.rawValue) == n)
            case (.string(let s), .string(let t)): #expect(t == s)
            default: #expect(back == value, "\(kind): \(value) came back as \(back)")
            }
        }
        // Random bytes of every length decode or are refused, for every kind.
        for _ in 0..<20_000 {
            let kind = Self.kinds[Int(rng.next() % UInt64(Self.kinds.count))]
            let bytes = (0..<Int(rng.next() % 300)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            if let value = try? OptionCodec.decode(bytes, as: kind, for: "fuzz") { _ = value.description }
        }
        #expect(encoded > 5_000 && roundTripped > 3_000, "\(encoded) encoded, \(roundTripped) round-tripped")
    }

    @Test("random options and values on real sockets: answered or refused, never a trap (4,000 calls)",
          arguments: Backend.allCases)
    func realSockets(_ backend: Backend) throws {
        var rng = SplitMix(seed: 0x5E70_0000 &+ UInt64(backend.rawValue.count))
        let options = SocketOption.allCases.filter { $0 != .otp(.controllingProcess) }
        var kinds: [(Domain, SocketType, SocketProtocol)] = [(.inet, .stream, .tcp), (.inet, .dgram, .udp),
                                                             (.inet6, .stream, .tcp), (.inet6, .dgram, .udp), (.local, .stream, .default)]
        if Machine.lacks(.ipv6, skipping: "the IPv6 sockets") { kinds.removeAll { $0.0 == .inet6 } }
        var answered = 0, refused = 0
        for round in 0..<40 {
            let (d, t, p) = kinds[round % kinds.count]
            let s = try Socket.open(d, t, p, backend: backend.instance())
            defer { try? s.close() }
            for _ in 0..<100 {
                let option = options[Int(rng.next() % UInt64(options.count))]
                if rng.next() % 2 == 0 {
                    do { _ = try s.getopt(option); answered += 1 } catch { refused += 1 }
                } else {
                    do { try s.setopt(option, Self.randomValue(&rng)); answered += 1 } catch { refused += 1 }
                }
            }
            // The socket still works: its kind reads back.
            #expect(try s.getopt(.socket(.type)) == .type(t))
        }
        #expect(answered > 500 && refused > 500)
    }
}
