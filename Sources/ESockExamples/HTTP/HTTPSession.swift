/// One connection's HTTP/1.1 conversation, without the I/O: what came in goes to
/// ``received(_:)``, and ``respond()`` says what to send, so that the async server and the
/// nowait server differ only in how they move bytes.
///
/// Every complete request buffered is answered, in order (pipelining); the answers are
/// gathered into as few sends as possible. A request that ends the connection (`Connection:
/// close`, HTTP/1.0 without keep-alive, or one the parser rejects) is answered last: the server
/// half-closes and only drains what still comes (see ``HTTPOutput/shutdownWrite``).
public struct HTTPSession: Sendable {
    /// What is served.
    public let site: HTTPSite
    private var parser: HTTPRequestParser
    /// `100 Continue` went for the request being read.
    private var continueSent = false
    /// The last response went; what comes now is only counted.
    private var ending = false
    private var drained = 0

    /// A new connection's conversation.
    public init(site: HTTPSite, limits: HTTPLimits = HTTPLimits()) {
        self.site = site
        parser = HTTPRequestParser(limits: limits)
    }

    /// Adds bytes received from the client.
    public mutating func received(_ bytes: [UInt8]) {
        if ending {
            drained += bytes.count
        } else {
            parser.append(bytes)
        }
    }

    /// What to send now, in order; empty when the server should receive more.
    public mutating func respond() -> [HTTPOutput] {
        if ending { return drained > parser.limits.maxDrainBytes ? [.close] : [] }
        var outputs: [HTTPOutput] = []
        var pending: [UInt8] = []
        while !ending {
            let response: HTTPResponse
            var keepAlive = false, version = HTTPVersion.http11, headOnly = false
            do {
                guard let request = try parser.next() else { break }
                response = site.response(to: request)
                keepAlive = request.keepAlive
                version = request.version
                headOnly = request.method == "HEAD"
            } catch {
                response = HTTPSite.response(to: error)
            }
            continueSent = false
            ending = !keepAlive
            pending += response.head(keepAlive: keepAlive, version: version)
            guard !headOnly else { continue }
            switch response.body {
            case .bytes(let body):
                pending += body
            case .file(let file, let count):
                guard count > 0 else { continue }
                outputs.append(.bytes(pending, more: true))
                outputs.append(.file(file, offset: 0, count: count))
                pending = []
            }
        }
        if !ending, !continueSent, let head = parser.pendingHead, head.expectsContinue, head.version.minor >= 1 {
            pending += Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)
            continueSent = true
        }
        if !pending.isEmpty { outputs.append(.bytes(pending, more: false)) }
        if ending { outputs.append(.shutdownWrite) }
        return outputs
    }
}
