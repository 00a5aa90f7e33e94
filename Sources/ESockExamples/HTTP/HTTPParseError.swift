/// Why ``HTTPRequestParser`` rejected a request; each kind has the status code it is answered with.
public struct HTTPParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong with the request.
    public enum Kind: Sendable, Hashable {
        /// The request line, a header field or the framing is malformed: `400 Bad Request`.
        case badRequest
        /// The head is longer than ``HTTPLimits/maxHeadBytes`` or has more fields than
        /// ``HTTPLimits/maxHeaderFields``: `431 Request Header Fields Too Large`.
        case headTooLarge
        /// The `Content-Length` is more than ``HTTPLimits/maxBodyBytes``: `413 Content Too Large`.
        case bodyTooLarge
        /// The body has a `Transfer-Encoding`, which these examples do not decode: `501 Not Implemented`.
        case transferCodingNotImplemented
        /// The request line names a major version other than 1: `505 HTTP Version Not Supported`.
        case versionNotSupported
    }

    /// What is wrong.
    public var kind: Kind
    /// Which part of the request, for a log line.
    public var detail: String

    /// An error of `kind`, with `detail`.
    public init(_ kind: Kind, _ detail: String) {
        self.kind = kind
        self.detail = detail
    }

    /// The status code the request is answered with.
    public var status: Int {
        switch kind {
        case .badRequest: return 400
        case .headTooLarge: return 431
        case .bodyTooLarge: return 413
        case .transferCodingNotImplemented: return 501
        case .versionNotSupported: return 505
        }
    }

    /// `400: bad header field "..."`.
    public var description: String { "\(status): \(detail)" }
}
