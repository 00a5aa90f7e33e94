/// The value of an `ioctl` set request: Erlang's `Value` of `ioctl/3` (set) and `ioctl/4`.
public enum IoctlSetValue: Sendable, Hashable {
    /// `sifflags`: the flags to change, true to set and false to reset (Erlang:
    /// `#{Flag => boolean()}`); flags not named are left as they are.
    case flags([InterfaceFlag: Bool])
    /// `sifaddr`, `sifdstaddr`, `sifbrdaddr`, `sifnetmask`: an IPv4 address (`.inet`; the port
    /// is ignored).
    case address(SocketAddress)
    /// `sifmtu`, `siftxqlen`: a number from 0 to `Int32.max`.
    case int(Int)
    /// `sifhwaddr`: a hardware address (at most 14 bytes).
    case hardwareAddress(HardwareAddress)
    /// `rcvall`, `rcvall_igmpmcall`, `rcvall_mcall` (Windows only).
    case bool(Bool)
}
