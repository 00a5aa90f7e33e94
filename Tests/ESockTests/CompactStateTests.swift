#if canImport(Glibc)
import Glibc
#endif
@testable import ESock
import Testing

/// What a socket and an operation keep out of line, so that 10,000 idle connections cost less
/// (docs/architecture.md, "Sixth session"): the fields read as their defaults until set,
/// keep what is set, and a copy of a socket's state does not share its changes.
@Suite("Compact state: out-of-line fields of sockets and operations")
struct CompactStateTests {
    /// A transition's effects, attempts and answers are made and destroyed several times per
    /// message: above a few words the compiler copies and destroys them through the types'
    /// value witnesses (at 69 bytes an effect cost 1,150 instructions more per select round
    /// trip, a 45-byte attempt 570 more). A case added with a large payload must be `indirect`.
    @Test("a message, an effect and an attempt stay a few words")
    func messagesAndEffectsStaySmall() {
        #expect(MemoryLayout<CompletionStatus>.size <= 9)
        #expect(MemoryLayout<SocketMessage>.size <= 25)
        #expect(MemoryLayout<Effect>.size <= 34)
        #expect(MemoryLayout<OperationValue>.size <= 9)
        #expect(MemoryLayout<Attempt>.size <= 10)
        #expect(MemoryLayout<Started>.size <= 26)
        #expect(MemoryLayout<CallProgress<RecvCall>.Next>.size <= 9)
        // An operation's caller: one word (the two cases' references share it).
        #expect(MemoryLayout<Caller>.size == 8)
        // The indirect cases keep their values.
        let error = SocketError.posix(ECONNRESET)
        guard case .failed(let e) = CompletionStatus.failed(error) else {
            Issue.record("not a failure")
            return
        }
        #expect(e == error)
        guard case .failed(let f) = Attempt.failed(error) else {
            Issue.record("not a failed attempt")
            return
        }
        #expect(f == error)
        let msg = Msg(iov: [[1, 2, 3]])
        guard case .message(let m) = OperationValue.message(msg) else {
            Issue.record("not a message")
            return
        }
        #expect(m.iov == [[1, 2, 3]])
    }

    @Test("an operation's sendfile and connect fields read as their defaults until set", arguments: Backend.allCases)
    func operationExtras(backend: Backend) throws {
        let s = try Socket.open(.inet, .stream, .tcp, backend: backend.instance())
        defer { try? s.close() }
        let op = Operation(.sendfile, tag: .sendfile, handle: .make(), caller: .mailbox(Mailbox()), socket: s)
        #expect(op.fileDescriptor == -1 && op.fileOffset == 0 && op.fileSent == 0 && op.fileRemaining == nil)
        #expect(op.address == nil && op.addressLength == 0 && op.cancelLatch == nil)
        op.fileDescriptor = 7
        op.fileOffset = Int64.max
        op.fileSent += 3
        op.fileRemaining = 5
        #expect(op.fileDescriptor == 7 && op.fileOffset == .max && op.fileSent == 3 && op.fileRemaining == 5)
        op.fileRemaining = nil
        #expect(op.fileRemaining == nil && op.fileSent == 3)
        // The address belongs to the operation: freed with it (the sanitizer runs check that).
        let storage = UnsafeMutablePointer<sockaddr_storage>.allocate(capacity: 1)
        storage.initialize(to: sockaddr_storage())
        op.address = storage
        op.addressLength = 16
        #expect(op.address == storage && op.addressLength == 16)
    }

    @Test("an operation's buffers: set (an empty one too) or not", arguments: Backend.allCases)
    func operationBuffers(backend: Backend) throws {
        let s = try Socket.open(.inet, .stream, .tcp, backend: backend.instance())
        defer { try? s.close() }
        let send = Operation(.send, tag: .send, handle: .make(), caller: .mailbox(Mailbox()), socket: s)
        #expect(send.buffer == nil && send.target == nil && send.outgoing == nil && send.outgoingSent == 0)
        // An empty borrowed buffer has no address, and is set all the same.
        send.borrowOutgoing(UnsafeRawBufferPointer(start: nil, count: 0))
        #expect(send.outgoing != nil && send.outgoing?.count == 0 && send.unsent.count == 0)
        #expect(send.buffer == nil && send.target == nil)
        // A send of an array keeps the array and points into its storage: no copy.
        var bytes: [UInt8] = [1, 2, 3]
        send.keepOutgoing(bytes, from: 0)
        let storage = bytes.withUnsafeBytes { $0.baseAddress }
        #expect(send.outgoing.map { UnsafeRawPointer($0.baseAddress) } == storage, "the array's own storage")
        #expect(send.outgoing.map { Array($0) } == [1, 2, 3] && send.buffer == nil)
        // The caller's later write copies the caller's array: what the kernel reads stays.
        bytes[0] = 9
        #expect(send.outgoing.map { Array($0) } == [1, 2, 3] && bytes == [9, 2, 3])
        send.outgoingSent = 2
        #expect(Array(send.unsent) == [3])
        // The rest of a partly sent array, from its offset.
        send.keepOutgoing([4, 5, 6, 7], from: 1)
        #expect(send.outgoing.map { Array($0) } == [5, 6, 7] && send.outgoingSent == 0)
        // A receive's buffer and count share their words with a send's data and count.
        let recv = Operation(.recv, tag: .recv, handle: .make(), caller: .mailbox(Mailbox()), socket: s)
        let received = recv.receiveBuffer(8)
        #expect(recv.buffer?.baseAddress == received.baseAddress && recv.buffer?.count == 8)
        #expect(recv.outgoing == nil && recv.receivedCount == 0)
        #expect(recv.receiveBuffer(4).baseAddress == received.baseAddress, "a big enough buffer is kept")
        recv.receivedCount = 5
        #expect(recv.receivedCount == 5 && recv.buffer != nil)
        // A receive into the caller's memory has no buffer of its own: the two share a word.
        let into = Operation(.recv, tag: .recv, handle: .make(), caller: .mailbox(Mailbox()), socket: s)
        let target = UnsafeMutableRawBufferPointer.allocate(byteCount: 4, alignment: 1)
        defer { target.deallocate() }
        into.target = target
        #expect(into.target?.baseAddress == target.baseAddress && into.buffer == nil && into.outgoing == nil)
        into.target = nil
        #expect(into.target == nil && into.buffer == nil)
    }

    @Test("an operation fits a 112-byte malloc chunk", arguments: Backend.allCases)
    func operationSize(backend: Backend) throws {
        let s = try Socket.open(.inet, .stream, .tcp, backend: backend.instance())
        defer { try? s.close() }
        // Many, for the reason `CallWaitTests.slotSize` gives.
        let mailbox = Mailbox()
        let ops = (0..<512).map { _ in Operation(.recv, tag: .recv, handle: .make(), caller: .mailbox(mailbox), socket: s) }
        guard let bytes = mallocUsableSize(ofSmallest: ops) else { return }
        #expect(bytes > 0 && bytes <= 104, "\(bytes) B")
    }

    @Test("a socket fits a 368-byte malloc chunk, its four queues inside it", arguments: Backend.allCases)
    func socketSize(backend: Backend) throws {
        let io = try backend.instance()
        // Many, for the reason `CallWaitTests.slotSize` gives (the heap may give a few objects a
        // larger chunk than they ask for); each is a real socket with its descriptor.
        let sockets = try (0..<64).map { _ in try Socket.open(.inet, .stream, .tcp, backend: io) }
        defer { for s in sockets { try? s.close() } }
        guard let bytes = mallocUsableSize(ofSmallest: sockets) else { return }
        #expect(bytes > 0 && bytes <= 360, "\(bytes) B")
        // The backend's rules: one object, which every socket's state holds (two words).
        let rules = Set(sockets.map { s in s.state.withLock { ObjectIdentifier($0.rules) } })
        #expect(rules.count == 1)
        #expect(MemoryLayout<any IOModelRules>.size == 16)
    }

    /// The current operations are in the socket's state; the waiting lines behind them are rare
    /// fields, made when a second caller queues and not before (nor by reading or emptying one).
    @Test("a socket's queues: current operations inline, a waiting line only for a queued caller",
          arguments: Backend.allCases)
    func queuesInState(backend: Backend) throws {
        _ = try backend.instance()
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        let a = Mailbox(), b = Mailbox()
        let first = try p.server.recv(nowait: a)
        let h1 = try #require(first.handle)
        p.server.state.withLock { st in
            #expect(st[current: .readers]?.handle == h1)
            #expect(!st.hasWaiting(.readers) && st[waiting: .readers].isEmpty && st.count(.readers) == 1)
            #expect(st[current: .writers] == nil && st[current: .acceptors] == nil && st[current: .connectors] == nil)
            #expect(!st.hasRareFields, "a lone waiting receive made the rare fields")
        }
        let second = try p.server.recv(nowait: b)
        let h2 = try #require(second.handle)
        p.server.state.withLock { st in
            #expect(st.all(.readers).map(\.handle) == [h1, h2])
            #expect(st.hasWaiting(.readers) && st.count(.readers) == 2 && st.hasRareFields)
            #expect(!st.hasWaiting(.writers) && st.count(.writers) == 0)
        }
        #expect(p.server.info().numReaders == 2)
        // The queued one is cancelled out of the line; the current one stays.
        switch second {
        case .select(let info, _): try p.server.cancel(info)
        case .completion(let info): _ = try p.server.cancel(info)
        case .done: Issue.record("a receive with nothing sent was done")
        }
        p.server.state.withLock { st in
            #expect(!st.hasWaiting(.readers) && st[current: .readers]?.handle == h1)
        }
        try p.client.send(pattern(5))
        switch try expectMessage(a, h1) {
        case .select: #expect(try p.server.recv(nowait: a).doneValue == pattern(5))
        case .completion(_, _, .received(let d)): #expect(d == pattern(5))
        case let m: Issue.record("unexpected \(m)")
        }
        #expect(p.server.info().numReaders == 0)
        #expect(b.receive(timeout: .zero) == nil, "the cancelled receive was told something")

        // Closing a socket with no operations empties its queues without making rare fields.
        let fresh = try Socket.open(.inet, .stream, .tcp, backend: p.server.ioBackend)
        try fresh.close()
        #expect(!fresh.state.withLock { $0.hasRareFields })
    }

    @Test("a copy of a socket's state keeps its own rare fields", arguments: Backend.allCases)
    func stateCopy(backend: Backend) throws {
        let s = try Socket.open(.inet, .stream, .tcp, backend: backend.instance())
        defer { try? s.close() }
        let fresh = s.state.withLock { $0 }
        #expect(fresh.meta == .undefined && fresh.recvBufferCount == 1 && fresh.readError == nil)
        #expect(fresh.recvControlBufferSize == SocketState.defaultControlBufferSize)
        #expect(fresh.sendControlBufferSize == SocketState.defaultControlBufferSize)
        #expect(fresh.messagesAhead.isEmpty && fresh.acceptedAhead.isEmpty && fresh.acceptor == nil && fresh.drained == nil)
        s.state.withLock {
            $0.meta = .int(1)
            $0.acceptedAhead.append(-1)
        }
        var copy = s.state.withLock { $0 }
        copy.meta = .int(2)
        copy.acceptedAhead.append(-2)
        copy.recvControlBufferSize = 64
        copy.readError = SocketError(.closed)
        let original = s.state.withLock { $0 }
        #expect(original.meta == .int(1) && original.acceptedAhead == [-1])
        #expect(original.recvControlBufferSize == SocketState.defaultControlBufferSize && original.readError == nil)
        #expect(copy.meta == .int(2) && copy.acceptedAhead == [-1, -2] && copy.recvControlBufferSize == 64)
        s.state.withLock { $0.acceptedAhead.removeAll() }
    }
}
