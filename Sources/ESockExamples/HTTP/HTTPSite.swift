/// What the HTTP examples serve: `GET /` a short text, `GET /file` a file by `sendfile`,
/// `POST /echo` the request body back; `404` elsewhere, `405` for other methods.
public struct HTTPSite: Sendable {
    /// The body of `GET /`.
    public var greeting: [UInt8]
    /// The file of `GET /file` (nil: `/file` is `404`).
    public var file: ServedFile?

    /// A site with `greeting` at `/` and `file` at `/file`.
    public init(greeting: String = "Hello from ESock\n", file: ServedFile? = nil) {
        self.greeting = Array(greeting.utf8)
        self.file = file
    }

    /// The response to `request` (a HEAD gets the GET response's head only; ``HTTPSession`` sees to that).
    public func response(to request: HTTPRequest) -> HTTPResponse {
        let readable = request.method == "GET" || request.method == "HEAD"
        switch request.path {
        case "/":
            guard readable else { return .text(405, "use GET\n", headers: [("Allow", "GET, HEAD")]) }
            return HTTPResponse(status: 200, headers: [("Content-Type", "text/plain; charset=utf-8")],
                                body: .bytes(greeting))
        case "/file":
            guard let file else { return .text(404, "no file is served (--file PATH)\n") }
            guard readable else { return .text(405, "use GET\n", headers: [("Allow", "GET, HEAD")]) }
            guard let size = file.size else { return .text(500, "cannot read \(file.path)\n") }
            return HTTPResponse(status: 200, headers: [("Content-Type", "application/octet-stream")],
                                body: .file(file, count: size))
        case "/echo":
            guard request.method == "POST" else { return .text(405, "use POST\n", headers: [("Allow", "POST")]) }
            return HTTPResponse(status: 200, headers: [("Content-Type", "application/octet-stream")],
                                body: .bytes(request.body))
        default:
            return .text(404, "not found\n")
        }
    }

    /// The response to a request the parser rejected; the connection ends after it.
    public static func response(to error: HTTPParseError) -> HTTPResponse {
        .text(error.status, "\(error.detail)\n")
    }
}
