#if canImport(Glibc)
import Glibc
#endif
import ESock
import SystemPackage

/// Bad input never traps: huge timeouts mean "very long", foreign address families and file
/// ranges past the largest offset are `invalid`, and a receive allocates for what can arrive.
func probeBadInput(_ backend: any IOBackend) throws(SocketError) {
    let p = try pair(backend)
    defer { for s in [p.client, p.server, p.listener] { try? s.close() } }

    // Huge timeouts, waited on: the data comes once the receive waits.
    for timeout in [Timeout.seconds(Int.max), .milliseconds(Int.max),
                    .after(Duration(secondsComponent: Int64.max, attosecondsComponent: 999_999_999_999_999_999))] {
        let client = p.client
        let sender = spawn {
            let deadline = ContinuousClock.now + .seconds(10)
            while p.server.info().numReaders == 0 && ContinuousClock.now < deadline { sched_yield() }
            _ = try? client.send([7], timeout: .seconds(5))
        }
        let got = try p.server.recv(timeout: timeout)
        sender()
        check(got == [7], "recv with timeout \(timeout) waits and returns")
    }
    let mb = Mailbox()
    check(mb.receive(timeout: .zero) == nil, "an empty mailbox with a zero timeout")
    let pending = try p.server.recv(nowait: mb)
    try p.client.send([8], timeout: .seconds(5))
    if pending.handle != nil {
        let m = mb.receive(timeout: .seconds(Int.max))
        check(m != nil, "mailbox receive with Int.max seconds")
        // Select: the receive is finished by calling again (its caller is the current reader).
        if case .select? = m { _ = try p.server.recv(nowait: mb) }
    }

    // Address families outside sa_family_t.
    for family in [Int32(-1), 70000] {
        let s = try Socket.open(.inet, .dgram, .udp, backend: backend)
        defer { try? s.close() }
        let bindError = thrown { () throws(SocketError) in try s.bind(.native(family: family, bytes: [0, 0])) }
        check(bindError.map { if case .invalid = $0.reason { true } else { false } } ?? false, "bind to family \(family) is invalid")
        let connectError = thrown { () throws(SocketError) in try s.connect(.native(family: family, bytes: [0, 0]), timeout: .seconds(1)) }
        check(connectError.map { if case .invalid = $0.reason { true } else { false } } ?? false, "connect to family \(family) is invalid")
    }

    // File ranges past the largest offset.
    var path = Array("/tmp/esock-probe-XXXXXX".utf8CString)
    let file = mkstemp(&path)
    defer { close(file); unlink(path) }
    _ = write(file, "0123456789", 10)
    for (offset, count) in [(Int64.max - 5, 10), (Int64(1), Int.max), (Int64.max, 1)] {
        let e = thrown { () throws(SocketError) in try p.client.sendfile(FileDescriptor(rawValue: file), offset: offset, count: count, timeout: .seconds(1)) }
        check(e.map { if case .invalid = $0.reason { true } else { false } } ?? false,
              "sendfile offset \(offset) count \(count) is invalid")
    }

    // Receives of absurd lengths allocate for what arrives.
    let before = residentBytes()
    try p.client.send(Array(repeating: 1, count: 64), timeout: .seconds(5))
    for length in [1 << 40, (1 << 32) + 8] {
        // 64 bytes there each time: a length cut to 32 bits ((1 << 32) + 8 → 8) would end the
        // receive with 8 of them instead of waiting for the rest.
        if length != 1 << 40 { try p.client.send(Array(repeating: 1, count: 64), timeout: .seconds(5)) }
        let e = thrown { () throws(SocketError) in try p.server.recv(length: length, timeout: .milliseconds(300)) }
        let part: Int
        if case .received(let d)? = e?.partial { part = d.count } else { part = 0 }
        check(e?.reason == .timeout, "recv(length: \(length)) with the peer open times out (\(e.map { "\($0)" } ?? "returned"))")
        check(part == 64, "recv(length: \(length)) returns the 64 bytes that came as partial")
    }
    let udp = try Socket.open(.inet, .dgram, .udp, backend: backend)
    let peer = try Socket.open(.inet, .dgram, .udp, backend: backend)
    defer { try? udp.close(); try? peer.close() }
    try udp.bind(.loopback(port: 0))
    try peer.sendto(Array(repeating: 2, count: 100), to: udp.sockname(), timeout: .seconds(5))
    let datagram = try udp.recvfrom(bufferSize: Int(Int32.max), timeout: .seconds(5))
    check(datagram.data.count == 100, "recvfrom with a 2 GiB buffer size gets the datagram")
    let grown = residentBytes() - before
    check(grown < 256 << 20, "absurd lengths cost \(grown >> 20) MiB, not gigabytes")
}
