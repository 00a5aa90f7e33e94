/// One step of what an HTTP server sends on a connection, as ``HTTPSession/respond()`` lists
/// them; the servers turn each into a socket call.
public enum HTTPOutput: Sendable {
    /// Send these bytes (Erlang: `socket:send/2`); `more` asks the kernel to hold them for
    /// what follows (MSG_MORE: a file body comes next, so head and body leave in full packets).
    case bytes([UInt8], more: Bool)
    /// Send `count` bytes of `file` from `offset` (Erlang: `socket:sendfile/5`). Fewer bytes
    /// than `count` (the file shrank) leave the response short: close the connection.
    case file(ServedFile, offset: Int64, count: Int)
    /// The last response went: half-close the connection (Erlang: `socket:shutdown(S, write)`)
    /// and keep receiving, so that requests the client sent after it do not make the kernel
    /// reset the connection before the client read the response; the client closes.
    case shutdownWrite
    /// Close the connection now (the client went on sending after the last response).
    case close
}
