/// How much of a request an HTTP server example reads before it gives up on it: the bounds
/// that keep one client from making the server buffer without end.
public struct HTTPLimits: Sendable, Hashable {
    /// The most bytes of a request's head (request line and header fields, with their line
    /// ends); a longer head is answered `431 Request Header Fields Too Large`.
    public var maxHeadBytes = 8 << 10
    /// The most header fields in one request (again `431`).
    public var maxHeaderFields = 100
    /// The largest body, by `Content-Length`; a larger one is answered `413 Content Too Large`.
    public var maxBodyBytes = 1 << 20
    /// After the last response of a connection the server half-closes it and reads until the
    /// client closes (so that the kernel does not reset the connection over unread requests and
    /// lose the response; RFC 9112 §9.6); it closes at once after this many more bytes.
    public var maxDrainBytes = 64 << 10

    /// The defaults: 8 KiB of head, 100 fields, 1 MiB of body, 64 KiB drained.
    public init() {}
}
