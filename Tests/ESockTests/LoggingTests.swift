@testable import ESock
import ESockLogging
import Logging
import Testing

/// Held by the tests that depend on where `{otp, debug}` lines go (``ESock/traceSink`` is one
/// for the whole process), so that they do not run at the same time.
enum TraceOutput {
    static let lock = Locked(())
}

/// What a ``RecordingLogHandler`` was given.
final class LogBook: Sendable {
    /// One logged line.
    struct Entry: Sendable {
        let level: Logger.Level
        let message: String
        let metadata: Logger.Metadata
    }

    private let store = Locked<[Entry]>([])

    func append(_ entry: Entry) { store.withLock { $0.append(entry) } }

    var entries: [Entry] { store.withLock { $0 } }
}

/// A swift-log handler that keeps what it is given in a ``LogBook``.
struct RecordingLogHandler: LogHandler {
    let book: LogBook
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        book.append(LogBook.Entry(level: event.level, message: "\(event.message)", metadata: merged))
    }
}

/// `{otp, debug}` trace lines through ``ESock/traceSink`` and ESockLogging (issue 15).
@Suite(.leakChecked, .serialized) struct LoggingTests {
    /// A socket pair that says something with `{otp, debug}` on, then closes, while `sink` is
    /// the trace sink; the traced socket.
    private func traceSomeTraffic(on backend: Backend, into sink: ESock.TraceSink?) throws -> Socket {
        let p = try connectedPair(on: backend)
        defer { p.closeAll() }
        try p.client.setopt(.otp(.debug), .bool(true))
        let previous = ESock.traceSink
        ESock.traceSink = sink
        defer { ESock.traceSink = previous }
        try p.client.send(pattern(100), timeout: .seconds(5))
        #expect(try recvAll(p.server, 100) == pattern(100))
        try p.client.close()
        return p.client
    }

    @Test("a trace sink gets each line with its socket's identity", arguments: Backend.allCases)
    func traceSinkReceivesRecords(_ backend: Backend) throws {
        try TraceOutput.lock.withLock { _ in
            let records = Locked<[TraceRecord]>([])
            let traced = try traceSomeTraffic(on: backend) { record in records.withLock { $0.append(record) } }
            let mine = records.withLock { $0 }.filter { $0.socketID == traced.id }
            #expect(mine.contains { $0.message.hasPrefix("send") }, "\(mine)")
            #expect(mine.contains { $0.message.hasPrefix("close (closed)") }, "\(mine)")
            for r in mine {
                #expect(r.fd == traced.fd && r.backend == backend.name)
                // The line the default sink writes to standard error.
                #expect(r.description == "esock \(traced): \(r.message)")
            }
        }
    }

    @Test("ESock.logTraces(to:) logs the lines with socket, fd and backend metadata", arguments: Backend.allCases)
    func logTracesThroughALogger(_ backend: Backend) throws {
        try TraceOutput.lock.withLock { _ in
            let book = LogBook()
            var logger = Logger(label: "esock.test") { _ in RecordingLogHandler(book: book) }
            logger[metadataKey: "test"] = "logging"
            let previous = ESock.traceSink
            ESock.logTraces(to: logger, level: .notice)
            let installed = try #require(ESock.traceSink)
            ESock.traceSink = previous
            let traced = try traceSomeTraffic(on: backend, into: installed)
            let mine = book.entries.filter { $0.metadata["esock.socket"] == "\(traced.id)" }
            #expect(mine.contains { $0.message.hasPrefix("send") } && mine.contains { $0.message.hasPrefix("close (closed)") },
                    "\(mine.map(\.message))")
            for e in mine {
                #expect(e.level == .notice)
                #expect(e.metadata["esock.fd"] == "\(traced.fd)" && e.metadata["esock.backend"] == "\(backend.name)")
                #expect(e.metadata["test"] == "logging")
            }
        }
    }

    @Test("a logger above the level logs nothing", arguments: Backend.allCases)
    func levelFilters(_ backend: Backend) throws {
        try TraceOutput.lock.withLock { _ in
            let book = LogBook()
            var logger = Logger(label: "esock.test") { _ in RecordingLogHandler(book: book) }
            logger.logLevel = .info
            _ = try traceSomeTraffic(on: backend, into: ESock.traceSink(logger: logger))
            #expect(book.entries.isEmpty)
        }
    }
}
