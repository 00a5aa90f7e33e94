import ESock
import Logging

extension ESock {
    /// Sends every socket's `{otp, debug}` trace lines (Erlang: `setopt(S, {otp, debug}, true)`)
    /// to `logger` at `level` instead of standard error: it sets ``ESock/traceSink`` to
    /// ``traceSink(logger:level:)``. Each line is logged with the metadata of
    /// ``TraceRecord/loggingMetadata`` (`esock.socket`, `esock.fd`, `esock.backend`). Setting
    /// `ESock.traceSink = nil` goes back to standard error.
    public static func logTraces(to logger: Logger, level: Logger.Level = .debug) {
        traceSink = traceSink(logger: logger, level: level)
    }

    /// A trace sink that logs each line through `logger` at `level` (the line's text is the
    /// message, its socket's identity the metadata), for use alone or inside a sink of your own.
    public static func traceSink(logger: Logger, level: Logger.Level = .debug) -> TraceSink {
        { record in
            logger.log(level: level, "\(record.message)", metadata: record.loggingMetadata)
        }
    }
}

extension TraceRecord {
    /// The record's socket as swift-log metadata: `esock.socket` (``TraceRecord/socketID``),
    /// `esock.fd` and `esock.backend`.
    public var loggingMetadata: Logger.Metadata {
        ["esock.socket": "\(socketID)", "esock.fd": "\(fd)", "esock.backend": "\(backend)"]
    }
}
