/// One HTTP/1.x request, as ``HTTPRequestParser`` read it.
public struct HTTPRequest: Sendable {
    /// The method, case-sensitive as HTTP says (`GET`, `HEAD`, `POST` ...).
    public var method: String
    /// The request target as sent: `/path?query`, or `http://host/path` (absolute form).
    public var target: String
    /// The version of the request line.
    public var version: HTTPVersion
    /// The header fields in the order they came; names are lowercased (HTTP field names are
    /// case-insensitive), values have their surrounding spaces removed.
    public var headers: [(name: String, value: String)]
    /// The body (its length is the request's `Content-Length`; empty without one).
    public var body: [UInt8]

    /// Makes a request.
    public init(method: String, target: String, version: HTTPVersion,
                headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.body = body
    }

    /// The path of the target, without the query, and without the scheme and host of an
    /// absolute-form target (`http://host/a?b` → `/a`).
    public var path: Substring {
        var rest = target[...]
        if let scheme = rest.firstRange(of: "://") {
            rest = rest[scheme.upperBound...]
            rest = rest.firstIndex(of: "/").map { rest[$0...] } ?? "/"
        }
        return rest.firstIndex(of: "?").map { rest[..<$0] } ?? rest
    }

    /// The value of the first header field called `name` (any case), or nil.
    public func header(_ name: String) -> String? {
        let key = name.lowercased()
        return headers.first { $0.name == key }?.value
    }

    /// The values of every header field called `name` (any case), in order.
    public func headerValues(_ name: String) -> [String] {
        let key = name.lowercased()
        return headers.filter { $0.name == key }.map(\.value)
    }

    /// Whether the `Connection` header lists `option` (any case): `close`, `keep-alive` ...
    public func connectionHas(_ option: String) -> Bool {
        headerValues("connection").contains { value in
            value.split(separator: ",").contains { $0.trimmingSpaces.lowercased() == option }
        }
    }

    /// Whether the client lets the connection stay open after the response: HTTP/1.1 unless
    /// `Connection: close`; HTTP/1.0 only with `Connection: keep-alive` (RFC 9112 §9.3).
    public var keepAlive: Bool {
        if connectionHas("close") { return false }
        return version.minor >= 1 || connectionHas("keep-alive")
    }

    /// Whether the client waits for `100 Continue` before it sends the body (`Expect: 100-continue`).
    public var expectsContinue: Bool {
        header("expect")?.lowercased() == "100-continue"
    }
}

extension Substring {
    /// Without spaces and tabs at either end (HTTP's optional whitespace).
    var trimmingSpaces: Substring {
        var s = self
        while let c = s.first, c == " " || c == "\t" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" { s.removeLast() }
        return s
    }
}
