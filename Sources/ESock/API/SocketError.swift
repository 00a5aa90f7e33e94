#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The error every ESock call throws: Erlang's `{error, Reason}` and `{error, {Reason, Data}}`.
///
/// ``reason`` says what went wrong; ``partial`` holds what moved before it did (Erlang's
/// `{error, {Reason, Data}}`): data received so far, data not yet sent, or bytes sent by sendfile.
public struct SocketError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong.
    public enum Reason: Sendable, Hashable, CustomStringConvertible {
        /// The kernel refused: Erlang's `posix()` reasons.
        case posix(Errno)
        /// The socket is closed, or was closed while the operation waited (Erlang: `closed`).
        case closed
        /// The timeout ran out (Erlang: `timeout`).
        case timeout
        /// An argument is not valid for this call (Erlang: `{invalid, What}`); the text says which.
        case invalid(String)
        /// The operation was replaced by a newer call of the same caller, or the task awaiting it was
        /// cancelled (Erlang: `cancelled`).
        case cancelled
        /// A connect is already in progress on this socket (Erlang: `already`).
        case already
        /// This platform or backend does not offer the operation or option (Erlang: `notsup`).
        case notSupported
        /// The backend (named) was shut down: it takes no new sockets, and the sockets it had were
        /// closed (ESock's own reason; an Erlang node's I/O backend never stops).
        case backendStopped(String)

        public var description: String {
            switch self {
            case .posix(let e): return e.description
            case .closed: return "closed"
            case .timeout: return "timeout"
            case .invalid(let what): return "invalid: \(what)"
            case .cancelled: return "cancelled"
            case .already: return "already"
            case .notSupported: return "notsup"
            case .backendStopped(let name): return "backend stopped: \(name)"
            }
        }
    }

    /// What moved before the error: Erlang's `Data` in `{error, {Reason, Data}}`.
    public enum Partial: Sendable, Hashable {
        /// Data received before the error (recv).
        case received([UInt8])
        /// The tail of the data that was not sent (send).
        case rest([UInt8])
        /// The tail of an I/O vector that was not sent, element by element (sendv: Erlang's
        /// `RestIOV`, what ``Socket/restIOV(_:of:)`` computes from the bytes written).
        case restIOV([[UInt8]])
        /// Bytes sent before the error (sendfile).
        case sent(Int)
    }

    /// What went wrong.
    public var reason: Reason
    /// What moved before the error, if anything did.
    public var partial: Partial?

    public init(_ reason: Reason, partial: Partial? = nil) {
        self.reason = reason
        self.partial = partial
    }

    /// An error from an errno value.
    public static func posix(_ code: Int32) -> SocketError { SocketError(.posix(Errno(rawValue: code))) }
    /// The closed error.
    public static let closed = SocketError(.closed)
    /// The timeout error.
    public static let timeout = SocketError(.timeout)
    /// An invalid-argument error naming the argument.
    public static func invalid(_ what: String) -> SocketError { SocketError(.invalid(what)) }
    /// The error of a feature this platform does not have (Erlang: `notsup`).
    public static let notSupported = SocketError(.notSupported)

    /// The errno, when the kernel reported the error.
    public var errno: Errno? {
        if case .posix(let e) = reason { return e }
        return nil
    }

    public var description: String {
        guard let partial else { return "SocketError(\(reason))" }
        switch partial {
        case .received(let d): return "SocketError(\(reason), received \(d.count) bytes)"
        case .rest(let d): return "SocketError(\(reason), \(d.count) bytes not sent)"
        case .restIOV(let v): return "SocketError(\(reason), \(v.reduce(0) { $0 + $1.count }) bytes in \(v.count) elements not sent)"
        case .sent(let n): return "SocketError(\(reason), sent \(n) bytes)"
        }
    }
}

/// An errno is an error of its own where only the kernel's number matters (the ring's setup).
extension SocketError.Errno: Error {}
