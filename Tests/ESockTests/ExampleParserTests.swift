import ESockExamples
import Testing

/// The request fields the tests compare (HTTPRequest's headers are tuples, not Equatable).
private struct Seen: Equatable {
    var method: String, target: String, version: HTTPVersion, headers: [String], body: [UInt8]

    init(_ r: HTTPRequest) {
        method = r.method
        target = r.target
        version = r.version
        headers = r.headers.map { "\($0.name)=\($0.value)" }
        body = r.body
    }
}

/// Feeds `bytes` to a parser in pieces of `piece` bytes (split at `split` first, when given),
/// taking every request as soon as it is complete.
private func parseAll(_ bytes: [UInt8], piece: Int? = nil, split: Int? = nil,
                      limits: HTTPLimits = HTTPLimits()) throws(HTTPParseError) -> [Seen] {
    var parser = HTTPRequestParser(limits: limits)
    var seen: [Seen] = []
    var pieces: [ArraySlice<UInt8>] = []
    if let split {
        pieces = [bytes[..<split], bytes[split...]]
    } else {
        let step = piece ?? max(bytes.count, 1)
        pieces = stride(from: 0, to: bytes.count, by: step).map { bytes[$0..<min(bytes.count, $0 + step)] }
    }
    for p in pieces {
        parser.append(Array(p))
        while let r = try parser.next() { seen.append(Seen(r)) }
    }
    #expect(parser.bufferedCount == 0)
    return seen
}

private func parseError(_ text: String, limits: HTTPLimits = HTTPLimits()) -> HTTPParseError.Kind? {
    do {
        _ = try parseAll(Array(text.utf8), limits: limits)
        return nil
    } catch {
        return error.kind
    }
}

@Suite("example parsers: HTTP/1.1 requests and RESP2 replies, in any pieces", .leakChecked)
struct ExampleParserTests {
    static let pipelined = Array(("\r\n"
        + "GET /a?b=c HTTP/1.1\r\nHost: x\r\nX-Spaced:   v  \r\n\r\n"
        + "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\nhello"
        + "GET http://x/y HTTP/1.0\nhOsT: x\nConnection: Keep-Alive\n\n"
        + "PUT /z HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n").utf8)

    @Test("pipelined requests parse the same whole, split anywhere, and a byte at a time")
    func httpSplits() throws {
        let whole = try parseAll(Self.pipelined)
        #expect(whole.map(\.method) == ["GET", "POST", "GET", "PUT"])
        #expect(whole.map(\.target) == ["/a?b=c", "/echo", "http://x/y", "/z"])
        #expect(whole[0].headers == ["host=x", "x-spaced=v"])
        #expect(whole[1].body == Array("hello".utf8))
        #expect(whole[2].version == .http10 && whole[2].headers == ["host=x", "connection=Keep-Alive"])
        #expect(try parseAll(Self.pipelined, piece: 1) == whole)
        for split in 0...Self.pipelined.count {
            #expect(try parseAll(Self.pipelined, split: split) == whole, "split at \(split)")
        }
    }

    @Test("what a request says about the connection, its path and 100-continue")
    func httpRequestFacts() {
        func request(_ version: HTTPVersion, _ headers: [(String, String)], target: String = "/") -> HTTPRequest {
            HTTPRequest(method: "GET", target: target, version: version, headers: headers.map { (name: $0.0, value: $0.1) })
        }
        #expect(request(.http11, []).keepAlive)
        #expect(!request(.http11, [("connection", "Upgrade, close")]).keepAlive)
        #expect(!request(.http10, []).keepAlive)
        #expect(request(.http10, [("connection", "keep-alive")]).keepAlive)
        #expect(!request(.http10, [("connection", "keep-alive"), ("connection", "close")]).keepAlive)
        #expect(request(.http11, [("expect", "100-Continue")]).expectsContinue)
        #expect(request(.http11, [], target: "/a?b").path == "/a")
        #expect(request(.http11, [], target: "http://h:8/x/y?z").path == "/x/y")
        #expect(request(.http11, [], target: "http://h").path == "/")
    }

    @Test("malformed, oversized and unsupported requests are rejected with the right status")
    func httpErrors() {
        var small = HTTPLimits()
        small.maxHeadBytes = 64
        small.maxHeaderFields = 2
        small.maxBodyBytes = 10
        let cases: [(String, HTTPParseError.Kind)] = [
            ("GET /\r\n\r\n", .badRequest),
            ("GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n", .badRequest),
            ("G(T / HTTP/1.1\r\nHost: x\r\n\r\n", .badRequest),
            ("GET /a\u{7f} HTTP/1.1\r\nHost: x\r\n\r\n", .badRequest),
            ("GET / HTTP/1.x\r\nHost: x\r\n\r\n", .badRequest),
            ("GET / http/1.1\r\nHost: x\r\n\r\n", .badRequest),
            ("GET / HTTP/1.1\r\n\r\n", .badRequest),
            ("GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", .badRequest),
            ("GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", .badRequest),
            ("GET / HTTP/1.1\r\nHost: x\r\n: empty\r\n\r\n", .badRequest),
            ("GET / HTTP/1.1\r\nHost: x\r\nA\rB: c\r\n\r\n", .badRequest),
            ("GET / HTTP/1.1\r\nHost: x\r\nA: b\rc\r\n\r\n", .badRequest),
            ("GET / HTTP/1.1\r\nHost: x\r\nA: b\u{0}\r\n\r\n", .badRequest),
            ("GET / HTTP/1.1\r\nHost: x\r\n\tfolded\r\n\r\n", .badRequest),
            ("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", .badRequest),
            ("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: \r\n\r\n", .badRequest),
            ("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1,2\r\n\r\n", .badRequest),
            ("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1234567890123456789\r\n\r\n", .bodyTooLarge),
            ("GET / HTTP/3.0\r\nHost: x\r\n\r\n", .versionNotSupported),
            ("GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", .transferCodingNotImplemented),
            ("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n", .bodyTooLarge),
            ("GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\n\r\n", .headTooLarge),
            ("GET / HTTP/1.1\r\nHost: " + String(repeating: "x", count: 60), .headTooLarge),
        ]
        for (text, kind) in cases {
            #expect(parseError(text, limits: small) == kind, "\(text.debugDescription)")
        }
        // A head of exactly the limit passes; one byte more does not.
        let exact = "GET / HTTP/1.1\r\nHost: " + String(repeating: "x", count: 64 - 26) + "\r\n\r\n"
        #expect(exact.utf8.count == 64)
        #expect(parseError(exact, limits: small) == nil)
        #expect(parseError(exact.replacingFirst("Host: ", with: "Host:  "), limits: small) == .headTooLarge)
    }

    @Test("a session answers pipelined requests in one send, 100-continue once, HEAD without a body, and ends after close")
    func httpSession() {
        var session = HTTPSession(site: HTTPSite(greeting: "hi"))
        session.received(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\nHEAD / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        let first = session.respond()
        #expect(first.count == 1)
        if case .bytes(let bytes, let more)? = first.first {
            let text = String(decoding: bytes, as: UTF8.self)
            #expect(!more && text.components("HTTP/1.1 200 OK").count == 3 && text.components("\r\n\r\nhi").count == 2)
        }
        #expect(session.respond().isEmpty)
        session.received(Array("POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n".utf8))
        guard case .bytes(let interim, _)? = session.respond().first else { Issue.record("no 100 Continue"); return }
        #expect(interim == Array("HTTP/1.1 100 Continue\r\n\r\n".utf8))
        #expect(session.respond().isEmpty)
        session.received(Array("ok".utf8))
        #expect(session.respond().count == 1)
        session.received(Array("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\n".utf8))
        let last = session.respond()
        #expect(last.count == 2)
        if case .shutdownWrite? = last.last {} else { Issue.record("no shutdown after Connection: close: \(last)") }
        session.received([UInt8](repeating: 0, count: HTTPLimits().maxDrainBytes))
        #expect(session.respond().isEmpty)
        session.received([0])
        if case .close? = session.respond().first {} else { Issue.record("no close after the drain limit") }
    }

    /// Every kind of value (computed, not a stored global: LeakSanitizer reports the indirect
    /// enum payloads of a global array as leaked).
    static var values: [RESPValue] { [
        .simpleString("OK"), .simpleString(""), .error("ERR unknown command"),
        .integer(0), .integer(-1), .integer(.max), .integer(.min),
        .bulkString([]), .bulkString(nil), .bulkString(Array("a\r\nb$-1\r\n*3\r\n".utf8)), .bulkString((0...255).map { UInt8($0) }),
        .array([]), .array(nil),
        .array([.integer(1), .array([.bulkString(Array("x".utf8)), .array(nil), .array([.error("E")])]), .simpleString("s")]),
    ] }

    @Test("RESP values parse back the same whole, split anywhere, and a byte at a time")
    func respSplits() throws {
        let values = Self.values
        let bytes = values.flatMap { $0.encoded() }
        for split in 0...bytes.count {
            var parser = RESPParser()
            var seen: [RESPValue] = []
            for piece in [bytes[..<split], bytes[split...]] {
                parser.append(Array(piece))
                while let v = try parser.next() { seen.append(v) }
            }
            #expect(seen == values, "split at \(split)")
        }
        var parser = RESPParser()
        var seen: [RESPValue] = []
        for b in bytes {
            parser.append([b])
            while let v = try parser.next() { seen.append(v) }
        }
        #expect(seen == values && parser.bufferedCount == 0)
    }

    @Test("bytes that are not RESP2, and values over the limits, are errors (never a trap)")
    func respErrors() throws {
        var limits = RESPParser.Limits()
        limits.maxDepth = 3
        limits.maxArrayCount = 10
        limits.maxBulkLength = 100
        limits.maxLineLength = 24
        let bad = ["?x\r\n", "$-2\r\n", "*-2\r\n", ":12a\r\n", ":\r\n", ":-\r\n", ":9223372036854775808\r\n",
                   ":-9223372036854775809\r\n", "$3\r\nabcX\r\n", "+OK\rX", "+OK\n", "+" + String(repeating: "x", count: 25), "$101\r\n",
                   "*11\r\n", "*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n", "%1\r\n", "_\r\n"]
        for text in bad {
            var parser = RESPParser(limits: limits)
            parser.append(Array(text.utf8))
            #expect(throws: RESPError.self, "\(text.debugDescription)") { _ = try parser.next() }
        }
        var parser = RESPParser(limits: limits)
        parser.append(Array(":-9223372036854775808\r\n*1\r\n*1\r\n:1\r\n+123456789012345678901234\r\n".utf8))
        #expect(try parser.next() == .integer(.min))
        #expect(try parser.next() == .array([.array([.integer(1)])]))
        #expect(try parser.next() == .simpleString("123456789012345678901234"))
        // The largest limits overflow nothing: a huge announced length is just incomplete.
        var unbounded = RESPParser.Limits()
        unbounded.maxBulkLength = .max
        unbounded.maxLineLength = .max
        var huge = RESPParser(limits: unbounded)
        huge.append(Array("$9223372036854775807\r\nabc".utf8))
        #expect(try huge.next() == nil)
    }

    @Test("commands are sent as arrays of bulk strings")
    func redisCommandEncoding() {
        var out: [UInt8] = []
        RedisCommand("SET", "k", "").encode(into: &out)
        RedisCommand.get("k").encode(into: &out)
        #expect(String(decoding: out, as: UTF8.self) == "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")
    }
}

extension String {
    fileprivate func components(_ separator: String) -> [Substring] {
        split(separator: separator, omittingEmptySubsequences: false)
    }

    fileprivate func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let r = firstRange(of: target) else { return self }
        return String(self[..<r.lowerBound]) + replacement + String(self[r.upperBound...])
    }
}
