/// One `{otp, debug}` trace line of a socket (Erlang: `setopt(S, {otp, debug}, true)`), as
/// ``ESock/traceSink`` receives it.
public struct TraceRecord: Sendable, Hashable, CustomStringConvertible {
    /// The traced socket's ``Socket/id``.
    public var socketID: UInt64
    /// Its descriptor (``Socket/fd``).
    public var fd: Int32
    /// The name of its backend (`select` or `completion`).
    public var backend: String
    /// What happened: the operation, its handle and its outcome (`recv #Ref<7>: done 5 bytes`).
    public var message: String

    /// A record of a trace line.
    public init(socketID: UInt64, fd: Int32, backend: String, message: String) {
        self.socketID = socketID
        self.fd = fd
        self.backend = backend
        self.message = message
    }

    /// The line as the default sink writes it to standard error, without the newline
    /// (`esock #Socket<3, fd 12, select>: close (closed) with 0 operations`).
    public var description: String { "esock #Socket<\(socketID), fd \(fd), \(backend)>: \(message)" }
}

extension ESock {
    /// What receives a socket's `{otp, debug}` trace lines.
    public typealias TraceSink = @Sendable (TraceRecord) -> Void

    private static let traceSinkStore = Locked<TraceSink?>(nil)

    /// Where `{otp, debug}` trace lines go, for every socket of the process; nil (the default)
    /// writes each to standard error with one write(2). `ESockLogging`'s
    /// `ESock.logTraces(to:level:)` installs one that logs through a swift-log `Logger`.
    ///
    /// The sink is called on the thread of the traced operation, once the transition it
    /// reports is done and the socket's lock released (a trace line is one of the transition's
    /// effects): it may call the socket, but it delays the operation's caller, so it should be
    /// quick. Lines of several threads may reach it at the same time.
    public static var traceSink: TraceSink? {
        get { traceSinkStore.withLock { $0 } }
        set { traceSinkStore.withLock { $0 = newValue } }
    }
}
