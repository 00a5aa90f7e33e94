#if canImport(Glibc)
import Glibc
#endif
import CESockShims
import Synchronization

private let nextSocketID = Atomic<UInt64>(1)

/// A socket: Erlang's `socket()`, created by ``open(_:_:_:backend:owner:useRegistry:)`` or ``accept(timeout:)-4tid7``.
///
/// A socket belongs to one ``IOBackend`` for its whole life. Its descriptor is non-blocking and
/// close-on-exec. Every method may be called from any thread. As in Erlang, a socket stays open
/// until ``close()``: the registry (``ESock/whichSockets()``) and its backend hold it, so
/// dropping the last reference of your own does not close it.
public final class Socket: Sendable, Hashable, CustomStringConvertible {
    /// A number unique to this socket in this process.
    public let id: UInt64
    /// The descriptor (Erlang: `{otp, fd}`).
    public let fd: Int32
    /// The protocol domain.
    public let domain: Domain
    /// The socket type.
    public let type: SocketType
    /// The protocol.
    public let `protocol`: SocketProtocol
    /// How the socket was made: Erlang's `ctype` (`normal` for open/accept, `fromfd` for a
    /// duplicated descriptor, `{fromfd, FD}` for one adopted as it is).
    public var ctype: String {
        switch origin {
        case .made: return "normal"
        case .duplicated: return "fromfd"
        case .adopted(let original): return "{fromfd, \(original)}"
        }
    }
    /// How the socket was made, in a few bytes (every socket holds it; the text is made when
    /// asked for).
    enum Origin: Equatable, Sendable {
        /// open or accept.
        case made
        /// open(FD) with dup: a duplicate of the descriptor.
        case duplicated
        /// open(FD) without dup: the descriptor itself.
        case adopted(Int32)
    }
    let origin: Origin
    let backend: any IOBackendDriver
    /// The socket's state machine (see `SocketState`), behind the socket's lock.
    let state: Locked<SocketState>
    /// The owner, the monitors and the registry flag (see Socket+Owner.swift).
    let ownership = Locked(Ownership())
    /// A slot kept for this socket's next async call (``AsyncCallSlot``): its calls alternate
    /// (a receive, then a send) and each takes the slot the last one gave back, with one
    /// atomic exchange and no thread-local or pool lock. Holds a retained reference or nil.
    let spareCallSlot = Atomic<Unmanaged<AsyncCallSlot>?>(nil)

    /// How many cache lines a socket's object spans, about (the state and the ownership under
    /// their locks, inline, and some 96 bytes for the object's header and other fields; 6 on
    /// x86-64): what a backend prefetches of the socket of an event or a CQE a few places ahead
    /// of the one it handles.
    static let cacheLines = Int32((MemoryLayout<Locked<SocketState>>.size
                                   + MemoryLayout<Locked<Ownership>>.size + 96 + 63) / 64)

    init(adopting fd: Int32, domain: Domain, type: SocketType, protocol proto: SocketProtocol,
         backend: any IOBackendDriver, origin: Origin = .made, owner: Mailbox? = nil,
         useRegistry: Bool? = nil) throws(SocketError) {
        self.id = nextSocketID.wrappingAdd(1, ordering: .relaxed).oldValue
        self.fd = fd
        self.domain = domain
        self.type = type
        self.protocol = proto
        self.backend = backend
        self.origin = origin
        state = Locked(SocketState(fd: fd, type: type, rules: backend.rules))
        do {
            try backend.attach(self)
        } catch {
            state.withLock { $0.closed = true }
            Syscall.close(fd)
            throw error
        }
        let registered = useRegistry ?? ESock.useRegistry
        ownership.withLock {
            $0.owner = owner
            $0.useRegistry = registered
        }
        owner?.adopt(self)
        Registry.shared.opened(self, listed: registered)
    }

    /// Creates a socket (Erlang: `open(Domain, Type, Protocol)`) on `backend`, by default the
    /// process's default backend (see ``ESock/defaultBackend()``).
    ///
    /// `owner` is the controlling process (Erlang: the process calling `open`): when it ends
    /// (``Mailbox/end()``: an owner ends only so, never when its last reference goes) the socket
    /// is closed. Nil: the socket has
    /// no owner and stays open until ``close()``. `useRegistry` (Erlang: the `use_registry` open
    /// option) puts the socket in the registry or keeps it out; nil: the global value
    /// (``ESock/useRegistry(_:)``).
    public static func open(_ domain: Domain, _ type: SocketType, _ proto: SocketProtocol = .default,
                            backend: (any IOBackend)? = nil, owner: Mailbox? = nil,
                            useRegistry: Bool? = nil) throws(SocketError) -> Socket {
        let driver = try driver(for: backend)
        let fd = esock_socket(domain.rawValue, type.rawValue, proto.rawValue)
        guard fd >= 0 else { throw .posix(errno) }
        return try Socket(adopting: fd, domain: domain, type: type, protocol: proto, backend: driver, owner: owner,
                          useRegistry: useRegistry)
    }

    /// `backend`, or the default one, as ESock's driver.
    static func driver(for backend: (any IOBackend)?) throws(SocketError) -> any IOBackendDriver {
        let chosen: any IOBackend
        if let backend { chosen = backend } else { chosen = try ESock.defaultBackend() }
        guard let driver = chosen as? any IOBackendDriver else {
            throw .invalid("backend \(chosen.name) is not one of ESock's backends")
        }
        return driver
    }

    /// The backend this socket runs on.
    public var ioBackend: any IOBackend { backend }

    /// Throws `closed` when the socket is closed (for calls that use the socket's state only;
    /// a call that uses the descriptor goes through `withDescriptor`).
    func checkOpen() throws(SocketError) {
        if state.withLock({ $0.closed }) { throw .closed }
    }

    /// Binds the socket to `address` (Erlang: `bind/2`; C: bind(2)).
    public func bind(_ address: SocketAddress) throws(SocketError) {
        try withDescriptor { (fd) throws(SocketError) in
            let rc = try address.withSockAddr { Glibc.bind(fd, $0, $1) }
            if rc < 0 { throw .posix(errno) }
        }
    }

    /// Makes the socket listen for connections (Erlang: `listen/1,2`; C: listen(2)).
    public func listen(backlog: Int = 128) throws(SocketError) {
        guard backlog >= 0, backlog <= Int(Int32.max) else { throw .invalid("backlog \(backlog)") }
        try withOpenState { (st) throws(SocketError) in
            if Glibc.listen(st.fd, Int32(backlog)) < 0 { throw .posix(errno) }
            st.isListening = true
        }
    }

    /// The address the socket is bound to (Erlang: `sockname/1`; C: getsockname(2)).
    public func sockname() throws(SocketError) -> SocketAddress {
        try withDescriptor { (fd) throws(SocketError) in try Self.address(of: fd, getsockname) }
    }

    /// The address of the connected peer (Erlang: `peername/1`; C: getpeername(2)).
    public func peername() throws(SocketError) -> SocketAddress {
        try withDescriptor { (fd) throws(SocketError) in try Self.address(of: fd, getpeername) }
    }

    /// An address the kernel writes for `fd` (getsockname or getpeername).
    private static func address(of fd: Int32,
                                _ call: (Int32, UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> Int32)
        throws(SocketError) -> SocketAddress {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { call(fd, $0, &len) }
        }
        if rc < 0 { throw .posix(errno) }
        return SocketAddress(storage: storage, length: len)
    }

    /// Shuts down part of a full-duplex connection (Erlang: `shutdown/2`; C: shutdown(2)).
    public func shutdown(_ how: ShutdownHow) throws(SocketError) {
        try withOpenState { (st) throws(SocketError) in
            if Glibc.shutdown(st.fd, how.rawValue) < 0 { throw .posix(errno) }
            if how != .write {
                st.readShut = true
                st.mayRead = true
            }
            if how != .read { st.writeShut = true }
        }
    }

    /// The socket's counters (Erlang: the `counters` of `info/1`).
    public var counters: SocketCounters { state.withLock { $0.counters } }

    public static func == (a: Socket, b: Socket) -> Bool { a === b }
    public func hash(into h: inout Hasher) { h.combine(id) }
    public var description: String { "#Socket<\(id), fd \(fd), \(backend.name)>" }

    deinit {
        // The spare async call slot's reference goes with the socket (memory only, no I/O).
        spareCallSlot.load(ordering: .acquiring)?.release()
    }
}
