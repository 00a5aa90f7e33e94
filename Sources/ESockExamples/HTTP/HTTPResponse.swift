#if canImport(Glibc)
import Glibc
#endif

/// A response of the HTTP examples: a status, header fields and a body that is either bytes
/// or a range of a file (sent with `sendfile`).
public struct HTTPResponse: Sendable {
    /// What follows the head.
    public enum Body: Sendable {
        /// Bytes in memory.
        case bytes([UInt8])
        /// The first `count` bytes of a file, sent with `sendfile` (Erlang: `socket:sendfile/5`).
        case file(ServedFile, count: Int)
    }

    /// The status code (200, 404 ...).
    public var status: Int
    /// Header fields besides those ``head(keepAlive:)`` writes itself (`Date`,
    /// `Content-Length`, `Connection`).
    public var headers: [(name: String, value: String)]
    /// The body.
    public var body: Body

    /// A response with `status`, `headers` and `body`.
    public init(status: Int, headers: [(name: String, value: String)] = [], body: Body = .bytes([])) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A `text/plain` response.
    public static func text(_ status: Int, _ text: String, headers: [(name: String, value: String)] = []) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "text/plain; charset=utf-8")] + headers,
                     body: .bytes(Array(text.utf8)))
    }

    /// The body's length: the `Content-Length` (also of the answer to a HEAD, which has no body).
    public var contentLength: Int {
        switch body {
        case .bytes(let b): return b.count
        case .file(_, let count): return count
        }
    }

    /// The status line and header block, ending with the blank line. `keepAlive` false adds
    /// `Connection: close`; an HTTP/1.0 client that asked for keep-alive gets `Connection: keep-alive`.
    public func head(keepAlive: Bool, version: HTTPVersion = .http11) -> [UInt8] {
        var text = "HTTP/1.1 \(status) \(Self.reason(status))\r\n"
        text += "Date: \(Self.date())\r\nContent-Length: \(contentLength)\r\n"
        for field in headers { text += "\(field.name): \(field.value)\r\n" }
        if !keepAlive {
            text += "Connection: close\r\n"
        } else if version.minor == 0 {
            text += "Connection: keep-alive\r\n"
        }
        text += "\r\n"
        return Array(text.utf8)
    }

    /// The reason phrase of the status codes the examples send.
    public static func reason(_ status: Int) -> String {
        switch status {
        case 100: return "Continue"
        case 200: return "OK"
        case 400: return "Bad Request"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 413: return "Content Too Large"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 505: return "HTTP Version Not Supported"
        default: return "Status \(status)"
        }
    }

    /// Now in the `Date` format of RFC 9110 §5.6.7: `Sun, 06 Nov 1994 08:49:37 GMT`.
    public static func date() -> String {
        var now = time(nil)
        var t = tm()
        gmtime_r(&now, &t)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(days[Int(t.tm_wday) % 7]), \(two(t.tm_mday)) \(months[Int(t.tm_mon) % 12]) \(t.tm_year + 1900) "
            + "\(two(t.tm_hour)):\(two(t.tm_min)):\(two(t.tm_sec)) GMT"
    }
}
