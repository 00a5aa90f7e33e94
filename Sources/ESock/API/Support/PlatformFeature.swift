/// A platform feature ESock can report on: the boolean keys of Erlang's `supports/0`.
public enum PlatformFeature: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// SCTP: the kernel opens `IPPROTO_SCTP` sockets.
    case sctp
    /// IPv6: the kernel opens `AF_INET6` sockets.
    case ipv6
    /// Unix domain sockets (`AF_UNIX`).
    case local
    /// Network namespaces (`setns(2)`, used by ``Socket/open(_:_:_:netns:backend:owner:useRegistry:)``).
    case netns
    /// `sendfile(2)` (``Socket/sendfile(_:offset:count:timeout:)-jelf``).
    case sendfile

    public var description: String { rawValue }
}
