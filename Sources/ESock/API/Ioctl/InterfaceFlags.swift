/// An interface's active flag word (`gifflags`, SIOCGIFFLAGS): Erlang's list of
/// `ioctl_device_flag() | integer()`.
///
/// Bits without a name are kept in ``rawValue`` (Erlang lists them as integers). SIOCGIFFLAGS
/// gives the low 16 bits only, so ``lowerUp``, ``dormant`` and ``echo`` never appear in what it
/// reports on Linux (netlink has them).
public struct InterfaceFlags: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// The set holding one flag.
    public init(_ flag: InterfaceFlag) { self.init(rawValue: flag.bit) }

    public static let up = InterfaceFlags(.up)
    public static let broadcast = InterfaceFlags(.broadcast)
    public static let debug = InterfaceFlags(.debug)
    public static let loopback = InterfaceFlags(.loopback)
    public static let pointopoint = InterfaceFlags(.pointopoint)
    public static let notrailers = InterfaceFlags(.notrailers)
    public static let running = InterfaceFlags(.running)
    public static let noarp = InterfaceFlags(.noarp)
    public static let promisc = InterfaceFlags(.promisc)
    public static let allmulti = InterfaceFlags(.allmulti)
    public static let master = InterfaceFlags(.master)
    public static let slave = InterfaceFlags(.slave)
    public static let multicast = InterfaceFlags(.multicast)
    public static let portsel = InterfaceFlags(.portsel)
    public static let automedia = InterfaceFlags(.automedia)
    public static let dynamic = InterfaceFlags(.dynamic)
    public static let lowerUp = InterfaceFlags(.lowerUp)
    public static let dormant = InterfaceFlags(.dormant)
    public static let echo = InterfaceFlags(.echo)

    /// The named flags that are set, in bit order.
    public var flags: [InterfaceFlag] { InterfaceFlag.allCases.filter { rawValue & $0.bit != 0 } }

    /// The set bits that have no name (Erlang lists each as an integer).
    public var unknownBits: UInt32 {
        InterfaceFlag.allCases.reduce(rawValue) { $0 & ~$1.bit }
    }

    /// The Erlang spelling: the atoms of the named flags, then each unknown bit as a number.
    public var names: [String] {
        var out = flags.map(\.rawValue)
        var rest = unknownBits
        while rest != 0 {
            let bit = rest & (~rest &+ 1)
            out.append(String(bit))
            rest &= ~bit
        }
        return out
    }

    public var description: String { "[" + names.joined(separator: ", ") + "]" }
}
