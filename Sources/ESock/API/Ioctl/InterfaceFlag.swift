/// One interface flag: Erlang's `ioctl_device_flag()`, spelled as its atom (`rawValue`).
///
/// `sifflags` takes a `[InterfaceFlag: Bool]` (Erlang: `#{Flag => boolean()}`): true sets the
/// flag, false resets it.
public enum InterfaceFlag: String, CaseIterable, Sendable, Hashable, CustomStringConvertible {
    /// IFF_UP: the interface is administratively up.
    case up
    /// IFF_BROADCAST: the broadcast address is valid.
    case broadcast
    /// IFF_DEBUG: debugging is on.
    case debug
    /// IFF_LOOPBACK: a loopback interface.
    case loopback
    /// IFF_POINTOPOINT: a point-to-point link.
    case pointopoint
    /// IFF_NOTRAILERS: no trailers (unused on Linux).
    case notrailers
    /// IFF_RUNNING: resources allocated, operationally up.
    case running
    /// IFF_NOARP: no ARP.
    case noarp
    /// IFF_PROMISC: receives every packet.
    case promisc
    /// IFF_ALLMULTI: receives every multicast packet.
    case allmulti
    /// IFF_MASTER: master of a load balancer (bonding).
    case master
    /// IFF_SLAVE: slave of a load balancer (bonding).
    case slave
    /// IFF_MULTICAST: supports multicast.
    case multicast
    /// IFF_PORTSEL: can set the media type.
    case portsel
    /// IFF_AUTOMEDIA: selects the media automatically.
    case automedia
    /// IFF_DYNAMIC: addresses are lost when it goes down.
    case dynamic
    /// IFF_LOWER_UP: the driver signals layer 1 up (not in SIOCGIFFLAGS's 16 bits).
    case lowerUp = "lower_up"
    /// IFF_DORMANT: the driver signals dormant (not in SIOCGIFFLAGS's 16 bits).
    case dormant
    /// IFF_ECHO: echoes sent packets (not in SIOCGIFFLAGS's 16 bits).
    case echo

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
