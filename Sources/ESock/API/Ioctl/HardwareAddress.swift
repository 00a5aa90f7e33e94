/// The hardware address of an interface (`gifhwaddr`, `sifhwaddr`; SIOCGIFHWADDR and
/// SIOCSIFHWADDR): Erlang's sockaddr whose `family` is the ARPHRD device type.
public struct HardwareAddress: Sendable, Hashable, CustomStringConvertible {
    /// The device type (`ARPHRD_*` of linux/if_arp.h), e.g. ``ether`` or ``loopback``.
    public var family: UInt16
    /// The address bytes: 6 for Ethernet-like types (``ether``, ``loopback``, ``ieee802``),
    /// otherwise the whole 14-byte `sa_data` the kernel gave (it does not report the length).
    public var bytes: [UInt8]

    /// A hardware address of device type `family` (ARPHRD).
    public init(family: UInt16, bytes: [UInt8]) {
        self.family = family
        self.bytes = bytes
    }

    /// ARPHRD_ETHER.
    public static let ether: UInt16 = 1
    /// ARPHRD_IEEE802.
    public static let ieee802: UInt16 = 6
    /// ARPHRD_LOOPBACK.
    public static let loopback: UInt16 = 772
    /// ARPHRD_NONE (a device without hardware address, e.g. a tunnel).
    public static let none: UInt16 = 0xFFFE

    /// Families whose addresses are six bytes long.
    static let sixByteFamilies: Set<UInt16> = [ether, ieee802, loopback]

    /// The family's Erlang name where OTP has one (`ether`, `loopback`, ...), else its number.
    public var familyName: String {
        switch family {
        case 0: return "netrom"
        case Self.ether: return "ether"
        case Self.ieee802: return "ieee802"
        case Self.loopback: return "loopback"
        case Self.none: return "none"
        default: return String(family)
        }
    }

    /// `ether 02:00:00:00:00:01`.
    public var description: String {
        "\(familyName) " + bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: ":")
    }
}
