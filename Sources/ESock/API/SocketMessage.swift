/// A message an asynchronous operation sends to its ``Mailbox``: Erlang's
/// `{'$socket', Socket, select | completion | abort, Info}`.
///
/// The rare large payloads (an abort's or a failure's error, a recvfrom's address, a recvmsg's
/// message) are `indirect`: the message stays 25 bytes, and the engine's effects that carry it
/// small enough for the compiler to copy and destroy them inline (at 60 bytes it went through the
/// types' value witnesses: 1,150 instructions more per select round trip, docs/architecture.md).
public enum SocketMessage: Sendable, CustomStringConvertible {
    /// Select backend: the operation can now be completed; call it again
    /// (Erlang: `{'$socket', Socket, select, SelectHandle}`).
    case select(socket: Socket, handle: Handle)
    /// Completion backend: the operation finished; `status` is its result
    /// (Erlang: `{'$socket', Socket, completion, {CompletionHandle, CompletionStatus}}`).
    case completion(socket: Socket, handle: Handle, status: CompletionStatus)
    /// The operation was aborted: the socket was closed (`reason` ``SocketError/Reason/closed``) or
    /// the same caller replaced it (``SocketError/Reason/cancelled``)
    /// (Erlang: `{'$socket', Socket, abort, {Handle, Reason}}`).
    indirect case abort(socket: Socket, handle: Handle, reason: SocketError)
    /// A monitored socket went down (Erlang: `{'DOWN', MonitorRef, socket, Socket, Info}`), sent
    /// to the mailbox that called ``Socket/monitor(_:)``.
    case down(socket: Socket, monitor: MonitorRef, reason: DownReason)
    /// A counter of a socket with `{otp, iow}` set wrapped to zero (Erlang:
    /// `{'$socket', Socket, counter_wrap, Counter}`), sent to the socket's owner; `counter` is
    /// the counter's Erlang name (`read_byte`, ...).
    case counterWrap(socket: Socket, counter: String)

    /// The handle of the operation the message is about; nil for ``down(socket:monitor:reason:)``
    /// and ``counterWrap(socket:counter:)``, which are about no operation.
    public var handle: Handle? {
        switch self {
        case .select(_, let h), .completion(_, let h, _), .abort(_, let h, _): return h
        case .down, .counterWrap: return nil
        }
    }

    /// The socket the message is about.
    public var socket: Socket {
        switch self {
        case .select(let s, _), .completion(let s, _, _), .abort(let s, _, _): return s
        case .down(let s, _, _), .counterWrap(let s, _): return s
        }
    }

    /// The address of the socket's object, with no reference count taken (for a prefetch):
    /// valid while the message is.
    var socketAddress: UnsafeMutableRawPointer {
        // A case each, so that each socket is borrowed where it lies (a case with several
        // patterns copied the message, a retain of the socket).
        switch self {
        case .select(let s, _): return Unmanaged.passUnretained(s).toOpaque()
        case .completion(let s, _, _): return Unmanaged.passUnretained(s).toOpaque()
        case .abort(let s, _, _): return Unmanaged.passUnretained(s).toOpaque()
        case .down(let s, _, _): return Unmanaged.passUnretained(s).toOpaque()
        case .counterWrap(let s, _): return Unmanaged.passUnretained(s).toOpaque()
        }
    }

    public var description: String {
        switch self {
        case .select(let s, let h): return "{'$socket', \(s), select, \(h)}"
        case .completion(let s, let h, let st): return "{'$socket', \(s), completion, {\(h), \(st)}}"
        case .abort(let s, let h, let r): return "{'$socket', \(s), abort, {\(h), \(r.reason)}}"
        case .down(let s, let m, let r): return "{'DOWN', \(m), socket, \(s), \(r)}"
        case .counterWrap(let s, let c): return "{'$socket', \(s), counter_wrap, \(c)}"
        }
    }
}

/// The result a completion message carries: Erlang's `CompletionStatus`.
public enum CompletionStatus: Sendable, CustomStringConvertible {
    /// accept: the new connected socket (Erlang: `{ok, Socket}`).
    case accepted(Socket)
    /// connect: the connection is established (Erlang: `ok`).
    case connected
    /// recv: the data (Erlang: `{ok, Data}`). A datagram may be empty; the end of a stream is no
    /// data but ``failed(_:)`` with ``SocketError/Reason/closed``.
    case received([UInt8])
    /// recv into the caller's memory (``Socket/recv(into:flags:timeout:)-3o7fc``):
    /// the bytes written there.
    case receivedCount(Int)
    /// recvfrom: the source address (nil when the kernel gave none) and the data
    /// (Erlang: `{ok, {Source, Data}}`).
    indirect case receivedFrom(source: SocketAddress?, data: [UInt8])
    /// recvmsg: the message (Erlang: `{ok, Msg}`).
    indirect case receivedMessage(Msg)
    /// send, sendto, sendmsg: all data was accepted by the kernel (Erlang: `ok`).
    case sent
    /// sendfile: the transfer finished after this many bytes (Erlang: `{ok, BytesSent}`).
    case sentFile(Int)
    /// The operation failed (Erlang: `{error, Reason}` or `{error, {Reason, Data}}`).
    indirect case failed(SocketError)

    public var description: String {
        switch self {
        case .accepted(let s): return "{ok, \(s)}"
        case .connected, .sent: return "ok"
        case .received(let d): return "{ok, <<\(d.count) bytes>>}"
        case .receivedCount(let n): return "{ok, \(n)}"
        case .receivedFrom(let s, let d): return "{ok, {\(s.map { "\($0)" } ?? "undefined"), <<\(d.count) bytes>>}}"
        case .receivedMessage(let m): return "{ok, \(m)}"
        case .sentFile(let n): return "{ok, \(n)}"
        case .failed(let e): return "{error, \(e)}"
        }
    }
}

extension SocketMessage {
    /// Closes the connections accepted for `messages`, which nobody will receive (dropped from a
    /// mailbox or an async call's slot). Call with no lock held.
    static func closeAccepted(_ messages: [SocketMessage]) {
        for case .completion(_, _, .accepted(let s)) in messages { try? s.close() }
    }
}
