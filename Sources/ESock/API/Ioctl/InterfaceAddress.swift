/// One entry of `gifconf` (Erlang: `#{name := string(), addr := sockaddr()}`): an interface
/// name and one of its addresses, as SIOCGIFCONF reports them (IPv4 only on Linux).
public struct InterfaceAddress: Sendable, Hashable, CustomStringConvertible {
    /// The interface name (`"lo"`).
    public var name: String
    /// The address (port 0).
    public var address: SocketAddress

    /// An entry for interface `name` with `address`.
    public init(name: String, address: SocketAddress) {
        self.name = name
        self.address = address
    }

    /// `lo: 127.0.0.1:0`.
    public var description: String { "\(name): \(address)" }
}
