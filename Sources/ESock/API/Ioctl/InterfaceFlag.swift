/// One interface flag: Erlang's `ioctl_device_flag()`, spelled as its atom (``rawValue``).
///
/// `sifflags` takes a `[InterfaceFlag: Bool]` (Erlang: `#{Flag => boolean()}`): true sets the
/// flag, false resets it.
public enum InterfaceFlag: String, CaseIterable, Sendable, Hashable, CustomStringConvertible {
    case up, broadcast, debug, loopback, pointopoint, notrailers, running, noarp, promisc, allmulti,
         master, slave, multicast, portsel, automedia, dynamic
    case lowerUp = "lower_up", dormant, echo

    /// The flag's bit (`IFF_*` of linux/if.h).
    public var bit: UInt32 {
        switch self {
        case .up: return 0x1
        case .broadcast: return 0x2
        case .debug: return 0x4
        case .loopback: return 0x8
        case .pointopoint: return 0x10
        case .notrailers: return 0x20
        case .running: return 0x40
        case .noarp: return 0x80
        case .promisc: return 0x100
        case .allmulti: return 0x200
        case .master: return 0x400
        case .slave: return 0x800
        case .multicast: return 0x1000
        case .portsel: return 0x2000
        case .automedia: return 0x4000
        case .dynamic: return 0x8000
        case .lowerUp: return 0x10000
        case .dormant: return 0x20000
        case .echo: return 0x40000
        }
    }

    /// The Erlang atom.
    public var description: String { rawValue }
}
