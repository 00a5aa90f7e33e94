/// What an `ioctl` get request returns: Erlang's `{ok, Result}` of `ioctl/2,3`.
public enum IoctlResult: Sendable, Hashable, CustomStringConvertible {
    /// `gifconf`: the interfaces with their addresses.
    case interfaces([InterfaceAddress])
    /// `nread`, `nwrite`, `gifindex`, `gifmtu`, `giftxqlen`: a number.
    case int(Int)
    /// `atmark`: whether the out-of-band mark is reached.
    case bool(Bool)
    /// `tcp_info`: the connection information.
    case tcpInfo(TCPInfo)
    /// `gifname`: an interface name.
    case name(String)
    /// `gifaddr`, `gifdstaddr`, `gifbrdaddr`, `gifnetmask`: an address.
    case address(SocketAddress)
    /// `gifhwaddr`: the hardware address and its ARPHRD type.
    case hardwareAddress(HardwareAddress)
    /// `gifflags`: the active flag word.
    case flags(InterfaceFlags)

    /// The interfaces of `.interfaces`, else nil.
    public var interfaces: [InterfaceAddress]? { if case .interfaces(let v) = self { return v }; return nil }
    /// The number of `.int`, else nil.
    public var int: Int? { if case .int(let v) = self { return v }; return nil }
    /// The value of `.bool`, else nil.
    public var bool: Bool? { if case .bool(let v) = self { return v }; return nil }
    /// The information of `.tcpInfo`, else nil.
    public var tcpInfo: TCPInfo? { if case .tcpInfo(let v) = self { return v }; return nil }
    /// The name of `.name`, else nil.
    public var name: String? { if case .name(let v) = self { return v }; return nil }
    /// The address of `.address`, else nil.
    public var address: SocketAddress? { if case .address(let v) = self { return v }; return nil }
    /// The address of `.hardwareAddress`, else nil.
    public var hardwareAddress: HardwareAddress? { if case .hardwareAddress(let v) = self { return v }; return nil }
    /// The flags of `.flags`, else nil.
    public var flags: InterfaceFlags? { if case .flags(let v) = self { return v }; return nil }

    /// The value's own description.
    public var description: String {
        switch self {
        case .interfaces(let v): return "\(v)"
        case .int(let v): return "\(v)"
        case .bool(let v): return "\(v)"
        case .tcpInfo(let v): return "\(v)"
        case .name(let v): return v
        case .address(let v): return "\(v)"
        case .hardwareAddress(let v): return "\(v)"
        case .flags(let v): return "\(v)"
        }
    }
}
