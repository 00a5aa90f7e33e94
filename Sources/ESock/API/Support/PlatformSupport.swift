/// What this platform supports: Erlang's `supports/0`, every key with its answer. The answers
/// are this machine's (the kernel is asked where it decides: SCTP, IPv6 and local sockets are
/// probed by opening one), see ``ESock/supports()``.
public struct PlatformSupport: Sendable, Hashable {
    /// `sctp`, `ipv6`, `local`, `netns`, `sendfile`.
    public var features: [PlatformFeature: Bool]
    /// `supports(msg_flags)`: each of Erlang's `msg_flag()` names.
    public var messageFlags: [String: Bool]
    /// `supports(protocols)`: each protocol name this system knows (`/etc/protocols`, and the
    /// ones ESock names).
    public var protocols: [String: Bool]
    /// `supports(options)`: every option the seed lists.
    public var options: [SocketOption: Bool]
    /// `supports(ioctl_requests)`: every ioctl request, by Erlang name.
    public var ioctlRequests: [String: Bool]
}
