/// Reads RESP2 values out of the bytes of one connection, in whatever pieces they come: many
/// replies in one piece (pipelining) or one reply over many pieces.
///
/// ``append(_:)`` what the socket received, then call ``next()`` until it returns nil (it needs
/// more bytes). A value is parsed from its first byte each time ``next()`` is called, so an
/// incomplete value is read again when more bytes come: cheap for the usual replies (a bulk
/// string's length is read first and nothing is parsed until all of it is there), and at worst
/// linear in the array's elements per piece for a large array that comes in many pieces.
/// Every length and count is checked against ``Limits`` before anything is allocated for it;
/// no input makes it trap.
public struct RESPParser: Sendable {
    /// The bounds a value must stay within.
    public struct Limits: Sendable, Hashable {
        /// The longest bulk string (Redis's own limit, `proto-max-bulk-len`, is 512 MiB).
        public var maxBulkLength = 512 << 20
        /// The most elements of one array.
        public var maxArrayCount = 16 << 20
        /// The deepest nesting of arrays.
        public var maxDepth = 64
        /// The longest line: a simple string, an error, or a length.
        public var maxLineLength = 64 << 10

        /// The defaults.
        public init() {}
    }

    /// The bounds.
    public let limits: Limits
    private var received = ReceiveBuffer()
    private var buffer: [UInt8] { received.bytes }

    /// A parser with `limits`.
    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Adds bytes received from the connection.
    public mutating func append(_ bytes: [UInt8]) {
        received.append(bytes)
    }

    /// The bytes received and not yet consumed by a value.
    public var bufferedCount: Int { received.count }

    /// The next complete value, or nil when more bytes are needed.
    public mutating func next() throws(RESPError) -> RESPValue? {
        var i = received.start
        guard let value = try parse(at: &i, depth: 0) else { return nil }
        received.consume(to: i)
        return value
    }

    /// The value at `i`, moving `i` past it; nil when it is not all there.
    private func parse(at i: inout Int, depth: Int) throws(RESPError) -> RESPValue? {
        guard i < buffer.count else { return nil }
        let type = buffer[i]
        var after = i + 1
        guard let line = try line(at: &after) else { return nil }
        switch type {
        case UInt8(ascii: "+"):
            i = after
            return .simpleString(String(decoding: line, as: UTF8.self))
        case UInt8(ascii: "-"):
            i = after
            return .error(String(decoding: line, as: UTF8.self))
        case UInt8(ascii: ":"):
            i = after
            return .integer(try Self.integer(line))
        case UInt8(ascii: "$"):
            let n = try Self.integer(line)
            if n == -1 {
                i = after
                return .bulkString(nil)
            }
            guard n >= 0, n <= limits.maxBulkLength else { throw RESPError("bulk string length \(n)") }
            let length = Int(n)
            guard buffer.count - after - 2 >= length else { return nil }
            guard buffer[after + length] == .cr, buffer[after + length + 1] == .lf else {
                throw RESPError("bulk string of \(length) bytes not followed by CRLF")
            }
            i = after + length + 2
            return .bulkString(Array(buffer[after..<(after + length)]))
        case UInt8(ascii: "*"):
            let n = try Self.integer(line)
            if n == -1 {
                i = after
                return .array(nil)
            }
            guard n >= 0, n <= limits.maxArrayCount else { throw RESPError("array count \(n)") }
            guard depth < limits.maxDepth else { throw RESPError("arrays nested deeper than \(limits.maxDepth)") }
            var elements: [RESPValue] = []
            // Each element takes at least 3 bytes: reserve no more than the bytes here can hold.
            elements.reserveCapacity(min(Int(n), (buffer.count - after) / 3))
            for _ in 0..<n {
                guard let element = try parse(at: &after, depth: depth + 1) else { return nil }
                elements.append(element)
            }
            i = after
            return .array(elements)
        default:
            throw RESPError("unknown type byte \(type) (RESP3 replies need HELLO 3, which this client does not send)")
        }
    }

    /// The bytes of the line at `i`, up to its CRLF, moving `i` past the CRLF; nil when the line
    /// has not all come.
    private func line(at i: inout Int) throws(RESPError) -> ArraySlice<UInt8>? {
        let from = i
        // Look no further than the longest line allows (written so that no limit overflows).
        let end = buffer.count - from - 2 > limits.maxLineLength ? from + limits.maxLineLength + 2 : buffer.count
        var j = from
        while j < end {
            switch buffer[j] {
            case .cr:
                guard j + 1 < buffer.count else { return nil }
                guard buffer[j + 1] == .lf else { throw RESPError("CR without LF") }
                i = j + 2
                return buffer[from..<j]
            case .lf:
                throw RESPError("LF without CR")
            default:
                j += 1
            }
        }
        guard end - from <= limits.maxLineLength else { throw RESPError("line longer than \(limits.maxLineLength) bytes") }
        return nil
    }

    /// A RESP integer: an optional sign and decimal digits, within Int64.
    private static func integer(_ digits: ArraySlice<UInt8>) throws(RESPError) -> Int64 {
        var rest = digits
        let negative = rest.first == UInt8(ascii: "-")
        if negative || rest.first == UInt8(ascii: "+") { rest = rest.dropFirst() }
        guard !rest.isEmpty else { throw RESPError("empty integer") }
        var n: Int64 = 0
        for c in rest {
            guard c.isDigit else { throw RESPError("integer with byte \(c)") }
            // Accumulated negatively, so that Int64.min fits.
            let (times10, o1) = n.multipliedReportingOverflow(by: 10)
            let (next, o2) = times10.subtractingReportingOverflow(Int64(c - UInt8(ascii: "0")))
            guard !o1, !o2 else { throw RESPError("integer out of range") }
            n = next
        }
        if negative { return n }
        guard n != .min else { throw RESPError("integer out of range") }
        return -n
    }
}
