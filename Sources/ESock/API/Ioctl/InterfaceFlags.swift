/// An interface's active flag word (`gifflags`, SIOCGIFFLAGS): Erlang's list of
/// `ioctl_device_flag() | integer()`.
///
/// Bits without a name are kept in ``rawValue`` (Erlang lists them as an integer). SIOCGIFFLAGS
/// gives the low 16 bits only, so ``lowerUp``, ``dormant`` and ``echo`` never appear in what it
/// reports on Linux (netlink has them).
public struct InterfaceFlags: OptionSet, Sendable, Hashable, CustomStringConvertible {
    /// The flag word (`IFF_*` bits).
    public let rawValue: UInt32
    /// A set from its flag word.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// The set holding one flag.
    public init(_ flag: InterfaceFlag) { self.init(rawValue: flag.bit) }

    /// ``InterfaceFlag/up`` alone.
    public static let up = InterfaceFlags(.up)
    /// ``InterfaceFlag/broadcast`` alone.
    public static let broadcast = InterfaceFlags(.broadcast)
    /// ``InterfaceFlag/debug`` alone.
    public static let debug = InterfaceFlags(.debug)
    /// ``InterfaceFlag/loopback`` alone.
    public static let loopback = InterfaceFlags(.loopback)
    /// ``InterfaceFlag/pointopoint`` alone.
    public static let pointopoint = InterfaceFlags(.pointopoint)
    /// ``InterfaceFlag/notrailers`` alone.
    public static let notrailers = InterfaceFlags(.notrailers)
    /// ``InterfaceFlag/running`` alone.
    public static let running = InterfaceFlags(.running)
    /// ``InterfaceFlag/noarp`` alone.
    public static let noarp = InterfaceFlags(.noarp)
    /// ``InterfaceFlag/promisc`` alone.
    public static let promisc = InterfaceFlags(.promisc)
    /// ``InterfaceFlag/allmulti`` alone.
    public static let allmulti = InterfaceFlags(.allmulti)
    /// ``InterfaceFlag/master`` alone.
    public static let master = InterfaceFlags(.master)
    /// ``InterfaceFlag/slave`` alone.
    public static let slave = InterfaceFlags(.slave)
    /// ``InterfaceFlag/multicast`` alone.
    public static let multicast = InterfaceFlags(.multicast)
    /// ``InterfaceFlag/portsel`` alone.
    public static let portsel = InterfaceFlags(.portsel)
    /// ``InterfaceFlag/automedia`` alone.
    public static let automedia = InterfaceFlags(.automedia)
    /// ``InterfaceFlag/dynamic`` alone.
    public static let dynamic = InterfaceFlags(.dynamic)
    /// ``InterfaceFlag/lowerUp`` alone.
    public static let lowerUp = InterfaceFlags(.lowerUp)
    /// ``InterfaceFlag/dormant`` alone.
    public static let dormant = InterfaceFlags(.dormant)
    /// ``InterfaceFlag/echo`` alone.
    public static let echo = InterfaceFlags(.echo)

    /// The named flags that are set, in bit order.
    public var flags: [InterfaceFlag] { InterfaceFlag.allCases.filter { rawValue & $0.bit != 0 } }

    /// The set bits that have no name (Erlang lists them as one integer).
    public var unknownBits: UInt32 {
        InterfaceFlag.allCases.reduce(rawValue) { $0 & ~$1.bit }
    }

    /// The Erlang spelling: the atoms of the named flags, then the unknown bits as one number
    /// (as ``MessageFlags`` spells received flags).
    public var names: [String] {
        let unknown = unknownBits
        return flags.map(\.rawValue) + (unknown == 0 ? [] : [String(unknown)])
    }

    /// The Erlang spelling: `[up, loopback, running]`.
    public var description: String { "[" + names.joined(separator: ", ") + "]" }
}
