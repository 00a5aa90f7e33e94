#if canImport(Glibc)
import Glibc
#endif
import CESockShims
import SystemPackage

extension Socket {
    /// Creates a socket from an existing descriptor (Erlang: `open(FD)`, `open(FD, Opts)`).
    ///
    /// With `dup` true (the default) the socket gets a duplicate of `fd` (fcntl F_DUPFD_CLOEXEC)
    /// and the caller keeps `fd`; its `ctype` is `fromfd`. With `dup` false the socket takes `fd`
    /// over (it closes it on ``close()``) and its `ctype` is `{fromfd, fd}`. Domain, type and
    /// protocol are read from the descriptor (getsockopt SO_DOMAIN, SO_TYPE, SO_PROTOCOL) unless
    /// given. The socket's descriptor is made non-blocking (fcntl F_SETFL O_NONBLOCK) and
    /// close-on-exec. A descriptor that is not open throws `posix(EBADF)`; one that is not a
    /// socket throws `posix(ENOTSOCK)`. `owner` and `useRegistry` are as for
    /// ``open(_:_:_:backend:owner:useRegistry:)``.
    ///
    /// - Important: with `dup` true, `fd` becomes non-blocking too. A duplicate shares the open
    ///   file description, and O_NONBLOCK is a flag of the description, not of the descriptor:
    ///   there is no way to set it on one of the two numbers only (a socket cannot be opened
    ///   anew through /proc/self/fd, which would give a description of its own). The backends
    ///   need it, as OTP's do: its `open(FD)` duplicates and sets O_NONBLOCK the same way. ESock
    ///   does not clear the flag again at ``close()``: the description may still be in use
    ///   through `fd`, and clearing it would change it under that use just as setting it did.
    ///   Code that goes on using `fd` must expect `EAGAIN`, or clear O_NONBLOCK itself once the
    ///   socket is closed.
    public static func open(fd descriptor: FileDescriptor, dup: Bool = true, domain: Domain? = nil, type: SocketType? = nil,
                            protocol proto: SocketProtocol? = nil, backend: (any IOBackend)? = nil,
                            owner: Mailbox? = nil, useRegistry: Bool? = nil) throws(SocketError) -> Socket {
        let driver = try driver(for: backend)
        let fd = descriptor.rawValue
        guard fd >= 0 else { throw .posix(EBADF) }
        let detectedType = try socketOption(fd, SO_TYPE)
        let detectedDomain = domain == nil ? try socketOption(fd, SO_DOMAIN) : 0
        let detectedProtocol = proto == nil ? try socketOption(fd, SO_PROTOCOL) : 0
        let own: Int32
        if dup {
            own = fcntl(fd, F_DUPFD_CLOEXEC, 0)
            guard own >= 0 else { throw .posix(errno) }
        } else {
            own = fd
        }
        if esock_set_nonblocking(own) < 0 {
            let e = errno
            if dup { Syscall.close(own) }
            throw .posix(e)
        }
        return try Socket(adopting: own, domain: domain ?? Domain(rawValue: detectedDomain),
                          type: type ?? SocketType(rawValue: detectedType),
                          protocol: proto ?? SocketProtocol(rawValue: detectedProtocol),
                          backend: driver, origin: dup ? .duplicated : .adopted(fd), owner: owner,
                          useRegistry: useRegistry)
    }

    /// Creates a socket inside the network namespace whose file is `netns` (Erlang:
    /// `open(Domain, Type, Protocol, #{netns => Path})`, Linux only). The calling thread enters
    /// the namespace (setns(2) with CLONE_NEWNET), calls socket(2) and returns to the namespace
    /// it was in (/proc/thread-self/ns/net), also when something fails. Needs CAP_SYS_ADMIN:
    /// without it the call throws `posix(EPERM)`. `owner` and `useRegistry` are as for
    /// ``open(_:_:_:backend:owner:useRegistry:)``.
    public static func open(_ domain: Domain, _ type: SocketType, _ proto: SocketProtocol = .default,
                            netns: String, backend: (any IOBackend)? = nil,
                            owner: Mailbox? = nil, useRegistry: Bool? = nil) throws(SocketError) -> Socket {
        let driver = try driver(for: backend)
        let fd = esock_socket_in_netns(netns, domain.rawValue, type.rawValue, proto.rawValue)
        guard fd >= 0 else { throw .posix(-fd) }
        return try Socket(adopting: fd, domain: domain, type: type, protocol: proto, backend: driver, owner: owner,
                          useRegistry: useRegistry)
    }

    /// getsockopt(fd, SOL_SOCKET, name) as an integer.
    private static func socketOption(_ fd: Int32, _ name: Int32) throws(SocketError) -> Int32 {
        var value: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(fd, SOL_SOCKET, name, &value, &len) < 0 { throw .posix(errno) }
        return value
    }
}
