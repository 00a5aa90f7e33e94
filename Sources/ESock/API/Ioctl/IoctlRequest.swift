/// A request of Erlang's `socket:ioctl/2,3,4`, spelled as Erlang's atom (`rawValue`).
///
/// Each request is used with one form of ``Socket/ioctl(_:)``:
/// - ``Form/get`` — `ioctl/2`, ``Socket/ioctl(_:)``: `gifconf`, `nread`, `nwrite`, `nspace`,
///   `atmark`, `tcp_info`;
/// - ``Form/getInterface`` — `ioctl/3` with an interface key, ``Socket/ioctl(_:interface:)``:
///   the `gif*` requests (`gifname` takes an index, the others a name);
/// - ``Form/set`` — `ioctl/3` with a value, ``Socket/ioctl(_:value:)``: `rcvall`,
///   `rcvall_igmpmcall`, `rcvall_mcall` (Windows only);
/// - ``Form/setInterface`` — `ioctl/4`, ``Socket/ioctl(_:interface:value:)``: the `sif*` requests.
///
/// A request used in another form fails with `invalid`; one this platform lacks
/// (``isSupported`` false) fails with `notsup`.
public enum IoctlRequest: String, CaseIterable, Sendable, CustomStringConvertible {
    /// The interfaces and their IPv4 addresses (SIOCGIFCONF).
    case gifconf
    /// Bytes ready to be read (FIONREAD, also called SIOCINQ).
    case nread
    /// Bytes in the send queue (SIOCOUTQ, which is TIOCOUTQ on Linux).
    case nwrite
    /// Free space in the send queue (FIONSPACE): BSD only, not supported on Linux.
    case nspace
    /// Whether the read position is at the out-of-band mark (SIOCATMARK).
    case atmark
    /// TCP's connection information (getsockopt IPPROTO_TCP TCP_INFO, as OTP does).
    case tcpInfo = "tcp_info"
    /// The name of the interface with an index (SIOCGIFNAME).
    case gifname
    /// The index of the interface with a name (SIOCGIFINDEX).
    case gifindex
    /// The address of an interface (SIOCGIFADDR).
    case gifaddr
    /// The destination address of a point-to-point interface (SIOCGIFDSTADDR).
    case gifdstaddr
    /// The broadcast address of an interface (SIOCGIFBRDADDR).
    case gifbrdaddr
    /// The network mask of an interface (SIOCGIFNETMASK).
    case gifnetmask
    /// The hardware address of an interface and its ARPHRD type (SIOCGIFHWADDR).
    case gifhwaddr
    /// The MTU of an interface (SIOCGIFMTU).
    case gifmtu
    /// The transmit queue length of an interface (SIOCGIFTXQLEN).
    case giftxqlen
    /// The active flag word of an interface (SIOCGIFFLAGS).
    case gifflags
    /// Sets or resets flags of an interface (SIOCGIFFLAGS, then SIOCSIFFLAGS).
    case sifflags
    /// Sets the address of an interface (SIOCSIFADDR).
    case sifaddr
    /// Sets the destination address of a point-to-point interface (SIOCSIFDSTADDR).
    case sifdstaddr
    /// Sets the broadcast address of an interface (SIOCSIFBRDADDR).
    case sifbrdaddr
    /// Sets the network mask of an interface (SIOCSIFNETMASK).
    case sifnetmask
    /// Sets the MTU of an interface (SIOCSIFMTU).
    case sifmtu
    /// Sets the transmit queue length of an interface (SIOCSIFTXQLEN).
    case siftxqlen
    /// Sets the hardware address of an interface (SIOCSIFHWADDR).
    case sifhwaddr
    /// Receive all IP packets (Windows SIO_RCVALL): not supported on Linux.
    case rcvall
    /// Receive all IGMP multicast traffic (Windows SIO_RCVALL_IGMPMCAST): not supported on Linux.
    case rcvallIgmpmcall = "rcvall_igmpmcall"
    /// Receive all multicast traffic (Windows SIO_RCVALL_MCAST): not supported on Linux.
    case rcvallMcall = "rcvall_mcall"

    /// How a request is called: which ``Socket`` method takes it.
    public enum Form: Sendable, Hashable {
        /// `ioctl(Socket, Request)`: ``Socket/ioctl(_:)``.
        case get
        /// `ioctl(Socket, Request, NameOrIndex)`: ``Socket/ioctl(_:interface:)``.
        case getInterface
        /// `ioctl(Socket, Request, Value)`: ``Socket/ioctl(_:value:)``.
        case set
        /// `ioctl(Socket, Request, Name, Value)`: ``Socket/ioctl(_:interface:value:)``.
        case setInterface
    }

    /// The form this request is called in.
    public var form: Form {
        switch self {
        case .gifconf, .nread, .nwrite, .nspace, .atmark, .tcpInfo: return .get
        case .gifname, .gifindex, .gifaddr, .gifdstaddr, .gifbrdaddr, .gifnetmask, .gifhwaddr, .gifmtu,
             .giftxqlen, .gifflags:
            return .getInterface
        case .rcvall, .rcvallIgmpmcall, .rcvallMcall: return .set
        case .sifflags, .sifaddr, .sifdstaddr, .sifbrdaddr, .sifnetmask, .sifmtu, .siftxqlen, .sifhwaddr:
            return .setInterface
        }
    }

    /// Whether this platform offers the request (Erlang: `is_supported(ioctl_requests, Request)`).
    /// On Linux every request is, except `nspace` (no FIONSPACE) and the Windows-only `rcvall*`.
    public var isSupported: Bool {
        switch self {
        case .nspace, .rcvall, .rcvallIgmpmcall, .rcvallMcall: return false
        default: return true
        }
    }

    /// The Erlang atom.
    public var description: String { rawValue }
}
