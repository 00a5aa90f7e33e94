/// Where an IPv4 datagram arrived: Erlang's `ip_pktinfo()`, C's `struct in_pktinfo`.
public struct IPPacketInfo: Sendable, Hashable, CustomStringConvertible {
    /// The interface it arrived on.
    public var ifindex: Int32
    /// The local address the route chose (`ipi_spec_dst`).
    public var specDst: IPv4Address
    /// The header's destination address (`ipi_addr`).
    public var addr: IPv4Address

    public init(ifindex: Int32, specDst: IPv4Address, addr: IPv4Address) {
        self.ifindex = ifindex
        self.specDst = specDst
        self.addr = addr
    }

    init?(bytes: [UInt8]) {
        guard bytes.count == 12, let index = bytes.load(Int32.self, at: 0) else { return nil }
        self.init(ifindex: index, specDst: IPv4Address(bytes[4], bytes[5], bytes[6], bytes[7]),
                  addr: IPv4Address(bytes[8], bytes[9], bytes[10], bytes[11]))
    }

    public var description: String { "#{ifindex => \(ifindex), spec_dst => \(specDst), addr => \(addr)}" }
}

/// Where an IPv6 datagram arrived: Erlang's `ipv6_pktinfo()`, C's `struct in6_pktinfo`.
public struct IPv6PacketInfo: Sendable, Hashable, CustomStringConvertible {
    public var addr: IPv6Address
    public var ifindex: UInt32

    public init(addr: IPv6Address, ifindex: UInt32) {
        self.addr = addr
        self.ifindex = ifindex
    }

    init?(bytes: [UInt8]) {
        guard bytes.count == 20, let a = IPv6Address(bytes: Array(bytes[0..<16])),
              let index = bytes.load(UInt32.self, at: 16) else { return nil }
        self.init(addr: a, ifindex: index)
    }

    public var description: String { "#{addr => \(addr), ifindex => \(ifindex)}" }
}
