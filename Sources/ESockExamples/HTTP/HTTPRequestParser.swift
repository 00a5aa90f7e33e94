/// Reads HTTP/1.x requests out of the bytes of one connection, in whatever pieces they come:
/// several requests in one piece (pipelining) or one request over many pieces.
///
/// ``append(_:)`` what the socket received, then call ``next()`` until it returns nil (it needs
/// more bytes). What it checks (RFC 9112): the request line (`METHOD SP target SP HTTP/1.x`),
/// each header field (`name: value`, no space before the colon, no obsolete line folding, no
/// control characters), one `Host` in HTTP/1.1, the framing (`Content-Length`, all copies
/// equal; no `Transfer-Encoding`, which these examples do not decode), and the bounds of
/// ``HTTPLimits``. Lines may end with CRLF or a bare LF; empty lines before a request line are
/// skipped. After an error the connection's byte stream cannot be trusted: answer the error
/// and end the connection.
///
/// The search for the end of a head resumes where the last call stopped, so a head that comes
/// a byte at a time is still read in time linear in its length.
public struct HTTPRequestParser: Sendable {
    /// The bounds a request must stay within.
    public let limits: HTTPLimits
    private var received = ReceiveBuffer()
    private var buffer: [UInt8] { received.bytes }
    private var start: Int { received.start }
    /// Head: where the search for the blank line resumes, and where the line it is in began.
    private var scan = 0
    private var lineStart = 0
    /// A request whose head was read and whose body has not all come, and that body's length.
    private var head: HTTPRequest?
    private var bodyLength = 0

    /// A parser with `limits`.
    public init(limits: HTTPLimits = HTTPLimits()) {
        self.limits = limits
    }

    /// Adds bytes received from the connection.
    public mutating func append(_ bytes: [UInt8]) {
        received.append(bytes)
    }

    /// The bytes received and not yet consumed by a request.
    public var bufferedCount: Int { received.count }

    /// The head of the request being read when its body has not all come (nil otherwise): a
    /// server answers `100 Continue` here when the head asked for it (``HTTPRequest/expectsContinue``).
    public var pendingHead: HTTPRequest? { head }

    /// The next complete request, or nil when more bytes are needed.
    public mutating func next() throws(HTTPParseError) -> HTTPRequest? {
        if head == nil {
            guard let end = try findHeadEnd() else { return nil }
            let request = try Self.parseHead(buffer[start..<end], limits)
            bodyLength = try Self.bodyLength(of: request, limits)
            consume(to: end)
            head = request
        }
        guard var request = head, buffer.count - start >= bodyLength else { return nil }
        if bodyLength > 0 { request.body = Array(buffer[start..<(start + bodyLength)]) }
        consume(to: start + bodyLength)
        head = nil
        bodyLength = 0
        return request
    }

    /// Marks the bytes before `end` consumed; the search for the next head starts after them.
    private mutating func consume(to end: Int) {
        received.consume(to: end)
        scan = start
        lineStart = start
    }

    /// The index just after the blank line that ends the head, or nil when it has not come.
    private mutating func findHeadEnd() throws(HTTPParseError) -> Int? {
        var i = scan
        while i < buffer.count {
            if buffer[i] == .lf {
                let lineEnd = i > lineStart && buffer[i - 1] == .cr ? i - 1 : i
                if lineEnd == lineStart {
                    if lineStart == start {
                        // An empty line before a request line is skipped (RFC 9112 §2.2).
                        consume(to: i + 1)
                        i = start
                        continue
                    }
                    guard i + 1 - start <= limits.maxHeadBytes else { break }
                    return i + 1
                }
                lineStart = i + 1
            }
            i += 1
        }
        scan = i
        guard buffer.count - start <= limits.maxHeadBytes else {
            throw HTTPParseError(.headTooLarge, "head longer than \(limits.maxHeadBytes) bytes")
        }
        return nil
    }

    /// Reads a complete head: the request line and the header fields.
    private static func parseHead(_ head: ArraySlice<UInt8>, _ limits: HTTPLimits) throws(HTTPParseError) -> HTTPRequest {
        var lines: [ArraySlice<UInt8>] = []
        var lineStart = head.startIndex
        for i in head.indices where head[i] == .lf {
            let end = i > lineStart && head[i - 1] == .cr ? i - 1 : i
            if end > lineStart { lines.append(head[lineStart..<end]) }
            lineStart = i + 1
        }
        guard let requestLine = lines.first else { throw HTTPParseError(.badRequest, "no request line") }
        var request = try parseRequestLine(requestLine)
        guard lines.count - 1 <= limits.maxHeaderFields else {
            throw HTTPParseError(.headTooLarge, "more than \(limits.maxHeaderFields) header fields")
        }
        for line in lines.dropFirst() {
            request.headers.append(try parseField(line))
        }
        let hosts = request.headers.count { $0.name == "host" }
        guard hosts <= 1, hosts == 1 || request.version.minor == 0 else {
            throw HTTPParseError(.badRequest, "\(hosts) Host fields (HTTP/1.1 needs exactly one)")
        }
        return request
    }

    /// `METHOD SP request-target SP HTTP/1.x`.
    private static func parseRequestLine(_ line: ArraySlice<UInt8>) throws(HTTPParseError) -> HTTPRequest {
        let parts = line.split(separator: .space, omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw HTTPParseError(.badRequest, "request line is not METHOD SP target SP version") }
        let method = parts[0], target = parts[1], version = parts[2]
        guard !method.isEmpty, method.allSatisfy(\.isTokenByte) else { throw HTTPParseError(.badRequest, "method") }
        guard !target.isEmpty, target.allSatisfy({ $0 > .space && $0 < 0x7f }) else {
            throw HTTPParseError(.badRequest, "request target")
        }
        let v = Array(version)
        guard v.count == 8, v[0..<5].elementsEqual("HTTP/".utf8), v[5].isDigit, v[6] == UInt8(ascii: "."), v[7].isDigit else {
            throw HTTPParseError(.badRequest, "version")
        }
        guard v[5] == UInt8(ascii: "1") else {
            throw HTTPParseError(.versionNotSupported, "HTTP/\(v[5] - UInt8(ascii: "0")).\(v[7] - UInt8(ascii: "0"))")
        }
        return HTTPRequest(method: String(decoding: method, as: UTF8.self),
                           target: String(decoding: target, as: UTF8.self),
                           version: HTTPVersion(major: 1, minor: Int(v[7] - UInt8(ascii: "0"))))
    }

    /// `name: value`; the name is returned lowercased, the value without surrounding spaces.
    private static func parseField(_ line: ArraySlice<UInt8>) throws(HTTPParseError) -> (name: String, value: String) {
        guard line.first != .space && line.first != .tab else {
            throw HTTPParseError(.badRequest, "obsolete line folding")
        }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
            throw HTTPParseError(.badRequest, "header field without a colon")
        }
        let name = line[..<colon]
        guard !name.isEmpty, name.allSatisfy(\.isTokenByte) else {
            throw HTTPParseError(.badRequest, "header field name")
        }
        var value = line[(colon + 1)...]
        while let c = value.first, c == .space || c == .tab { value.removeFirst() }
        while let c = value.last, c == .space || c == .tab { value.removeLast() }
        guard value.allSatisfy({ $0 == .tab || ($0 >= .space && $0 != 0x7f) }) else {
            throw HTTPParseError(.badRequest, "control character in header field value")
        }
        let lowered = name.map { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") ? $0 + 32 : $0 }
        return (String(decoding: lowered, as: UTF8.self), String(decoding: value, as: UTF8.self))
    }

    /// The body length the head announces: its `Content-Length` (every copy the same), else 0.
    private static func bodyLength(of request: HTTPRequest, _ limits: HTTPLimits) throws(HTTPParseError) -> Int {
        guard request.header("transfer-encoding") == nil else {
            throw HTTPParseError(.transferCodingNotImplemented, "Transfer-Encoding")
        }
        var length: Int?
        for value in request.headerValues("content-length") {
            for item in value.split(separator: ",", omittingEmptySubsequences: false) {
                let digits = item.trimmingSpaces.utf8
                guard !digits.isEmpty, digits.allSatisfy(\.isDigit) else {
                    throw HTTPParseError(.badRequest, "Content-Length")
                }
                // 18 digits fit in an Int; more are more than any limit.
                guard digits.count <= 18 else { throw HTTPParseError(.bodyTooLarge, "Content-Length \(item)") }
                let n = digits.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
                guard length == nil || length == n else { throw HTTPParseError(.badRequest, "Content-Length values differ") }
                length = n
            }
        }
        guard let length else { return 0 }
        guard length <= limits.maxBodyBytes else {
            throw HTTPParseError(.bodyTooLarge, "Content-Length \(length) over \(limits.maxBodyBytes)")
        }
        return length
    }
}

extension UInt8 {
    static let lf = UInt8(ascii: "\n")
    static let cr = UInt8(ascii: "\r")
    static let space = UInt8(ascii: " ")
    static let tab = UInt8(ascii: "\t")

    var isDigit: Bool { self >= UInt8(ascii: "0") && self <= UInt8(ascii: "9") }

    /// A `tchar` of RFC 9110: what a method or a field name is made of.
    var isTokenByte: Bool {
        switch self {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
             UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
             UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }
}
