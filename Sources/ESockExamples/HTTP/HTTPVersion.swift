/// An HTTP version as a request line names it: `HTTP/1.1` is major 1, minor 1.
public struct HTTPVersion: Sendable, Hashable, CustomStringConvertible {
    /// The major version (1 for HTTP/1.x).
    public var major: Int
    /// The minor version.
    public var minor: Int

    /// Makes `HTTP/major.minor`.
    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    /// HTTP/1.0: connections close after each response unless the client asks for keep-alive.
    public static let http10 = HTTPVersion(major: 1, minor: 0)
    /// HTTP/1.1: connections stay open unless either side says `Connection: close`.
    public static let http11 = HTTPVersion(major: 1, minor: 1)

    /// `HTTP/1.1`.
    public var description: String { "HTTP/\(major).\(minor)" }
}
