import ESock
import SystemPackage
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// sendfile and open(fd:) with swift-system's `FileDescriptor` (issue 15).
@Suite(.leakChecked) struct FileDescriptorTests {
    /// A new file at a path of its own holding `content`, opened read-write with swift-system.
    private func makeFile(_ name: String, _ content: [UInt8]) throws -> (FileDescriptor, FilePath) {
        let path = FilePath("/tmp/esock-\(name)-\(getpid())")
        let file = try FileDescriptor.open(path, .readWrite, options: [.create, .truncate, .closeOnExec],
                                           permissions: .ownerReadWrite)
        do {
            #expect(try file.writeAll(content) == content.count)
        } catch {
            try? file.close()
            _ = path.withPlatformString { unlink($0) }
            throw error
        }
        return (file, path)
    }

    @Test("sendfile sends from a FileDescriptor without moving its offset", arguments: Backend.allCases)
    func sendfileFromAFileDescriptor(_ backend: Backend) async throws {
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        let content = pattern(1 << 20, seed: 5)
        let (file, path) = try makeFile("fd-sendfile-\(backend.rawValue)", content)
        defer {
            try? file.close()
            _ = path.withPlatformString { unlink($0) }
        }
        let offsetBefore = try file.seek(offset: 0, from: .current)
        // Blocking: a range.
        let wait = onThread {
            let sent = try p.client.sendfile(file, offset: 100, count: 70_000, timeout: .seconds(10))
            #expect(sent == 70_000)
        }
        #expect(try recvAll(p.server, 70_000) == Array(content[100..<70_100]))
        try wait()
        // Async: the whole file.
        let reader = Task { try await p.server.recv(length: content.count) }
        #expect(try await p.client.sendfile(file) == content.count)
        #expect(try await reader.value == content)
        #expect(try file.seek(offset: 0, from: .current) == offsetBefore)
        #expect(p.client.counters.sendfileByte == UInt64(70_000 + content.count))
        // A closed FileDescriptor is refused before anything is tried.
        let closed = try FileDescriptor.open("/dev/null", .readOnly)
        try closed.close()
        #expect(throws: SocketError.self) { try p.client.sendfile(closed, timeout: .seconds(1)) }
    }

    @Test("open(fd:) adopts a FileDescriptor's duplicate, which shares O_NONBLOCK", arguments: Backend.allCases)
    func openDuplicatesAFileDescriptor(_ backend: Backend) throws {
        var fds: [Int32] = [0, 0]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        let mine = FileDescriptor(rawValue: fds[0]), peer = FileDescriptor(rawValue: fds[1])
        defer {
            try? mine.close()
            try? peer.close()
        }
        #expect(fcntl(mine.rawValue, F_GETFL) & O_NONBLOCK == 0)
        let s = try Socket.open(fd: mine, backend: backend.instance())
        #expect(s.fd != mine.rawValue && s.domain == .local && s.type == .stream && s.info().ctype == "fromfd")
        // The duplicate shares the file description: the caller's descriptor is non-blocking now
        // (documented on open(fd:)), as it is in OTP.
        #expect(fcntl(mine.rawValue, F_GETFL) & O_NONBLOCK != 0)
        #expect(try peer.writeAll(Array("ping".utf8)) == 4)
        #expect(try s.recv(length: 4, timeout: .seconds(5)) == Array("ping".utf8))
        try s.send(Array("pong".utf8), timeout: .seconds(5))
        var reply = [UInt8](repeating: 0, count: 4)
        #expect(try reply.withUnsafeMutableBytes { try peer.read(into: $0) } == 4 && reply == Array("pong".utf8))
        try s.close()
        // The caller's descriptor stays open and keeps the flag: close does not clear it.
        #expect(fcntl(mine.rawValue, F_GETFD) >= 0 && fcntl(mine.rawValue, F_GETFL) & O_NONBLOCK != 0)
        #expect(throws: Errno.resourceTemporarilyUnavailable) {
            var byte: [UInt8] = [0]
            _ = try byte.withUnsafeMutableBytes { try mine.read(into: $0) }
        }
    }

    @Test("open(fd:dup: false) takes a FileDescriptor over", arguments: Backend.allCases)
    func openTakesAFileDescriptorOver(_ backend: Backend) throws {
        let raw = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        try #require(raw >= 0)
        let s = try Socket.open(fd: FileDescriptor(rawValue: raw), dup: false, backend: backend.instance())
        defer { try? s.close() }
        #expect(s.fd == raw && s.protocol == .udp && s.info().ctype == "{fromfd, \(raw)}")
        #expect(throws: SocketError(.posix(SocketError.Errno(Errno.badFileDescriptor)))) {
            try Socket.open(fd: FileDescriptor(rawValue: -1), backend: backend.instance())
        }
    }
}
