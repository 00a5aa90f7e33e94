import Synchronization

private let nextMonitorID = Atomic<UInt64>(1)

/// A reference naming one monitor of a socket: the `reference()` Erlang's `socket:monitor/1`
/// returns. Each ``Socket/monitor(_:)`` call makes a new one.
public struct MonitorRef: Hashable, Sendable, CustomStringConvertible {
    /// The reference's number, unique in this process.
    public let id: UInt64

    static func make() -> MonitorRef {
        MonitorRef(id: nextMonitorID.wrappingAdd(1, ordering: .relaxed).oldValue)
    }

    public var description: String { "#MonitorRef<\(id)>" }
}

/// Why a monitored socket went down: the `Info` of Erlang's
/// `{'DOWN', MonitorRef, socket, Object, Info}`.
public enum DownReason: String, Sendable, Hashable, CustomStringConvertible {
    /// The socket was closed with ``Socket/close()``.
    case closed
    /// The socket's owner ended (``Mailbox/end()``), which closed it.
    case ownerEnded = "owner_ended"
    /// The socket was already closed when the monitor was made (Erlang: `nosock`).
    case nosock

    public var description: String { rawValue }
}
