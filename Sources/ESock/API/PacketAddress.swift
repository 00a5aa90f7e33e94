/// A link-layer address of a packet socket: Erlang's `sockaddr_ll()`, C's `struct sockaddr_ll`
/// (Linux `AF_PACKET`).
public struct PacketAddress: Sendable, Hashable, CustomStringConvertible {
    /// The Ethernet protocol (`sll_protocol`, host order here), e.g. 0x0800 for IPv4.
    public var `protocol`: UInt16
    /// The interface (`sll_ifindex`).
    public var ifindex: Int32
    /// The packet type (`sll_pkttype`); see ``packetTypeName``.
    public var packetType: UInt8
    /// The hardware type (`sll_hatype`, an `ARPHRD_*` value); see ``hardwareTypeName``.
    public var hardwareType: UInt16
    /// The hardware address (`sll_addr`, `sll_halen` bytes, at most 8).
    public var address: [UInt8]

    public init(protocol proto: UInt16, ifindex: Int32, packetType: UInt8 = 0, hardwareType: UInt16 = 0,
                address: [UInt8] = []) {
        self.protocol = proto
        self.ifindex = ifindex
        self.packetType = packetType
        self.hardwareType = hardwareType
        self.address = address
    }

    /// Erlang's `packet_type()` atom (`host`, `broadcast`, `multicast`, `otherhost`, `outgoing`,
    /// `loopback`, `user`, `kernel`), nil for another value. (`fastroute` shares `user`'s number.)
    public var packetTypeName: String? {
        let names = ["host", "broadcast", "multicast", "otherhost", "outgoing", "loopback", "user", "kernel"]
        return Int(packetType) < names.count ? names[Int(packetType)] : nil
    }

    /// Erlang's `hatype()` atom for the common `ARPHRD_*` values, nil for another value.
    public var hardwareTypeName: String? {
        [0: "netrom", 1: "ether", 2: "eether", 3: "ax25", 4: "pronet", 5: "chaos", 6: "ieee802", 7: "arcnet",
         8: "appletlk", 15: "dlci", 19: "atm", 23: "metricom", 24: "ieee1394", 27: "eui64", 32: "infiniband",
         768: "tunnel", 769: "tunnel6", 772: "loopback", 773: "localtlk", 0xfffe: "none", 0xffff: "void"][hardwareType]
    }

    public var description: String {
        "#{family => packet, protocol => \(self.protocol), ifindex => \(ifindex), " +
            "pkttype => \(packetTypeName ?? "\(packetType)"), hatype => \(hardwareTypeName ?? "\(hardwareType)"), " +
            "addr => <<\(address.map { String($0) }.joined(separator: ","))>>}"
    }
}
