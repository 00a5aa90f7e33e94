@testable import ESock
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Decodes a msg_control buffer given as bytes.
func decodeControl(_ bytes: [UInt8]) -> [ControlMessage] {
    bytes.withUnsafeBytes { ControlMessage.decode($0) }
}

@Suite("Control messages, message flags and addresses: encoding and decoding", .leakChecked)
struct ControlMessageCodecTests {
    @Test("every constructor survives encode and decode with its value")
    func roundTrips() throws {
        let messages: [(ControlMessage, ControlMessage.Value)] = [
            (.rights([0, 1, 2]), .rights([0, 1, 2])),
            (.credentials(Credentials(pid: 7, uid: 8, gid: 9)), .credentials(Credentials(pid: 7, uid: 8, gid: 9))),
            (.timestamp(TimeValue(seconds: 12, microseconds: 345)), .timestamp(TimeValue(seconds: 12, microseconds: 345))),
            (.tos(.lowdelay), .tos(.lowdelay)),
            (.tos(.value(0xb8)), .tos(.value(0xb8))),
            (.ttl(64), .ttl(64)),
            (.hoplimit(255), .hoplimit(255)),
            (.tclass(0x20), .tclass(0x20)),
        ]
        for (m, value) in messages {
            #expect(m.value == value)
            #expect(m.name != nil)
        }
        let encoded = try ControlMessage.encode(messages.map(\.0))
        // Each message takes CMSG_SPACE(len): 16 bytes of header plus its data rounded up to 8.
        #expect(encoded.count == messages.map { 16 + ($0.0.data.count + 7) / 8 * 8 }.reduce(0, +))
        let decoded = decodeControl(encoded)
        #expect(decoded == messages.map(\.0))
        #expect(decoded.map(\.value) == messages.map { $0.1 })
        // A message ESock does not know keeps its bytes and has no value.
        let other = ControlMessage(level: .native(99), type: 5, data: [1, 2, 3])
        #expect(decodeControl(try ControlMessage.encode([other])) == [other])
        #expect(other.value == nil && other.name == nil)
        #expect(try ControlMessage.encode([]).isEmpty)
    }

    @Test("malformed buffers decode to what is valid in them and never trap")
    func malformed() throws {
        let good = try ControlMessage.encode([.ttl(1)])
        #expect(decodeControl([]).isEmpty)
        #expect(decodeControl(Array(good.prefix(8))).isEmpty)              // truncated header
        var zeroLength = good
        zeroLength.replaceSubrange(0..<8, with: [UInt8](repeating: 0, count: 8))
        #expect(decodeControl(zeroLength).isEmpty)                          // cmsg_len 0
        var huge = good
        huge.replaceSubrange(0..<8, with: withUnsafeBytes(of: UInt.max) { Array($0) })
        #expect(decodeControl(huge).isEmpty)                                // cmsg_len beyond the buffer
        var short = good
        short.replaceSubrange(0..<8, with: withUnsafeBytes(of: UInt(10)) { Array($0) })
        #expect(decodeControl(short).isEmpty)                               // cmsg_len inside the header
        #expect(decodeControl(good + [1, 2, 3]) == [.ttl(1)])               // a misaligned tail
        #expect(decodeControl(good + good.prefix(18)) == [.ttl(1)])         // a truncated second message
        #expect(decodeControl(good + good.prefix(20)) == [.ttl(1), .ttl(1)]) // the last one unpadded is whole
        // Known types with the wrong bytes have no value rather than a wrong one.
        #expect(ControlMessage(level: .ip, type: 2, data: [1, 2, 3]).value == nil)
        #expect(ControlMessage(level: .socket, type: 1, data: [1, 2, 3]).value == nil)
        #expect(ControlMessage(level: .ip, type: 11, data: [1]).value == nil)
    }

    @Test("malformed control messages to send are refused with invalid")
    func encodeRefuses() {
        #expect(throws: SocketError.self) { try ControlMessage.encode([.rights([-1])]) }
        #expect(throws: SocketError.self) { try ControlMessage.encode([.rights([])]) }
        #expect(throws: SocketError.self) { try ControlMessage.encode([ControlMessage(level: .ip, type: 2, data: [1, 2, 3])]) }
        #expect(throws: SocketError.self) {
            try ControlMessage.encode([ControlMessage(level: .native(1), type: 1, data: [UInt8](repeating: 0, count: 70_000))])
        }
    }

    @Test("extended errors decode origin, type, code and offender")
    func extendedError() throws {
        var bytes: [UInt8] = []
        bytes.append(native: UInt32(ECONNREFUSED))
        bytes += [3, 1, 4, 0]                  // icmp6, dest_unreach, port_unreach
        bytes.append(native: UInt32(5))
        bytes.append(native: UInt32(6))
        var sin6 = sockaddr_in6()
        sin6.sin6_family = sa_family_t(AF_INET6)
        sin6.sin6_port = UInt16(9).bigEndian
        withUnsafeMutableBytes(of: &sin6.sin6_addr) { $0.copyBytes(from: IPv6Address.loopback.bytes) }
        bytes += withUnsafeBytes(of: sin6) { Array($0) }
        let e = try #require(ExtendedError(bytes: bytes))
        #expect(e.error == .connectionRefused && e.origin == .icmp6 && e.info == 5 && e.data == 6)
        #expect(e.typeName == "dest_unreach" && e.codeName == "port_unreach")
        #expect(e.offender == .inet6(.loopback, port: 9))
        #expect(ExtendedError(bytes: Array(bytes.prefix(15))) == nil)
        #expect(ExtendedError(bytes: Array(bytes.prefix(16)))?.offender == nil)
    }

    @Test("message flags: names in Erlang's order, unknown bits as one integer")
    func flags() {
        let f = MessageFlags(rawValue: MessageFlags.trunc.rawValue | MessageFlags.ctrunc.rawValue | 0x40)
        #expect(f.names == ["ctrunc", "trunc"])
        #expect(f.unknown == 0x40)
        #expect(f.description == "[ctrunc, trunc, 64]")
        #expect(MessageFlags().description == "[]")
    }

    @Test("seeded random bytes never trap the decoders (20,000 inputs each)")
    func randomInputs() {
        var rng = SplitMix(seed: 0xE50C)
        var decoded = 0
        for _ in 0..<20_000 {
            let n = Int(rng.next() % 96)
            var bytes = (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            // Plausible headers now and then, so that the decoders' inner paths run.
            if n >= 16, rng.next() % 2 == 0 {
                bytes.replaceSubrange(0..<8, with: withUnsafeBytes(of: UInt(rng.next() % UInt64(n + 8))) { Array($0) })
                bytes[8] = [0, 1, 41][Int(rng.next() % 3)]
                bytes[12] = UInt8(truncatingIfNeeded: rng.next() % 70)
            }
            for m in decodeControl(bytes) {
                decoded += 1
                _ = m.value
                _ = m.description
            }
            _ = SocketAddress(bytes: bytes).description
            _ = ExtendedError(bytes: bytes)
        }
        #expect(decoded > 1000)
    }
}

/// A small deterministic random generator (SplitMix64) for repeatable inputs.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
