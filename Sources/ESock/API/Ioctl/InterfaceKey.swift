/// The interface an `ioctl/3` get request is about: Erlang's `NameOrIndex`.
///
/// `gifname` takes an ``index(_:)``, every other `gif*` request a ``name(_:)``. A string or an
/// integer literal makes one: `socket.ioctl(.gifmtu, interface: "lo")`.
public enum InterfaceKey: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral,
    ExpressibleByIntegerLiteral {
    /// An interface name such as `"lo"` (at most IFNAMSIZ - 1 = 15 bytes, no zero byte).
    case name(String)
    /// An interface index (if_nametoindex), not negative.
    case index(Int32)

    /// A ``name(_:)``.
    public init(stringLiteral value: String) { self = .name(value) }
    /// An ``index(_:)``.
    public init(integerLiteral value: Int32) { self = .index(value) }

    /// The name in quotes, or `index N`.
    public var description: String {
        switch self {
        case .name(let n): return "\"\(n)\""
        case .index(let i): return "index \(i)"
        }
    }
}
