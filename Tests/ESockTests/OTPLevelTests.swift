@testable import ESock
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The `otp` options that change what the socket does: `iow` (counter_wrap messages) and `debug`.
@Suite(.leakChecked) struct OTPLevelTests {
    @Test("a wrapping counter sends counter_wrap to the owner when iow is set, and only then",
          arguments: Backend.allCases)
    func counterWrap(_ backend: Backend) throws {
        let owner = Mailbox()
        let a = try Socket.open(.inet, .dgram, .udp, backend: backend.instance(), owner: owner)
        let b = try Socket.open(.inet, .dgram, .udp, backend: backend.instance())
        defer { try? b.close(); owner.end() }
        try a.bind(.loopback(port: 0))
        try a.setopt(.otp(.iow), .bool(true))
        // One datagram away from wrapping: the package and byte counters of reads and writes.
        a.state.withLock {
            $0.counters.readPkg = .max
            $0.counters.readByte = .max - 2
        }
        b.state.withLock { $0.counters.writePkg = .max }
        _ = try b.sendto([1, 2, 3, 4], to: a.sockname(), timeout: .seconds(5))
        #expect(try a.recvfrom(timeout: .seconds(5)).data == [1, 2, 3, 4])
        #expect(a.counters.readPkg == 0 && a.counters.readByte == 1)
        var wrapped: [String] = []
        while let m = owner.poll() {
            guard case .counterWrap(let s, let name) = m else { continue }
            #expect(s === a)
            wrapped.append(name)
        }
        #expect(wrapped == ["read_byte", "read_pkg"])
        // b has no owner: nothing to tell; and with iow off a wrap is silent.
        #expect(b.counters.writePkg == 0)
        try a.setopt(.otp(.iow), .bool(false))
        a.state.withLock { $0.counters.readPkg = .max }
        _ = try b.sendto([5], to: a.sockname(), timeout: .seconds(5))
        #expect(try a.recvfrom(timeout: .seconds(5)).data == [5])
        #expect(owner.poll() == nil)
    }

    /// Serialized: each case points the process's standard error at its own file for a while.
    @Test("{otp, debug} traces the socket's operations and its close to standard error",
          .serialized, arguments: Backend.allCases)
    func debugTraces(_ backend: Backend) throws {
        // The lines go to standard error only while no test has set another trace sink.
        try TraceOutput.lock.withLock { _ in try debugTracesOnStandardError(backend) }
    }

    private func debugTracesOnStandardError(_ backend: Backend) throws {
        let path = "/tmp/esock-debug-\(getpid())-\(backend.rawValue)"
        let file = open(path, O_CREAT | O_TRUNC | O_RDWR, 0o600)
        try #require(file >= 0)
        defer { close(file); unlink(path) }
        let a = try Socket.open(.inet, .dgram, .udp, backend: backend.instance())
        let b = try Socket.open(.inet, .dgram, .udp, backend: backend.instance())
        defer { try? b.close() }
        try a.bind(.loopback(port: 0))
        try a.setopt(.otp(.debug), .bool(true))
        // Standard error goes to the file while the socket works.
        let saved = dup(2)
        dup2(file, 2)
        _ = try b.sendto([1], to: a.sockname(), timeout: .seconds(5))
        let received = try a.recvfrom(timeout: .seconds(5)).data
        try a.close()
        dup2(saved, 2)
        close(saved)
        #expect(received == [1])
        var bytes = [UInt8](repeating: 0, count: 4096)
        let n = pread(file, &bytes, bytes.count, 0)
        let text = String(decoding: bytes.prefix(max(n, 0)), as: UTF8.self)
        #expect(text.contains("esock \(a): recv"), "\(text)")
        #expect(text.contains("esock \(a): close (closed)"), "\(text)")
        #expect(!text.contains("esock \(b)"), "\(text)")
    }
}
