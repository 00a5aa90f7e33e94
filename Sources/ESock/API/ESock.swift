#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Which backend the process uses by default: the values of `ESOCK_IO_BACKEND`.
public enum BackendChoice: String, Sendable, Hashable {
    /// The epoll backend.
    case select
    /// The io_uring backend; an error where io_uring cannot start.
    case completion
    /// io_uring where it works, else epoll (``ESock/info()`` says why).
    case auto
}

/// Process-wide functions of the socket library: Erlang's `socket:info/0`, `number_of/0`,
/// `which_sockets/0,1`, and the choice of the default backend.
public enum ESock {
    private struct Defaults {
        var backend: (any IOBackendDriver)?
        var fallbackReason: String?
    }

    private static let defaults = Locked(Defaults())
    private static let registryDefault = Atomic<Bool>(true)

    /// Whether sockets opened from now on are put in the registry (Erlang: `use_registry/1`,
    /// default true). A socket opened while it is false is not counted by ``numberOf()`` nor
    /// listed by ``whichSockets()``, but stays open until ``Socket/close()``: its backend holds it.
    public static func useRegistry(_ on: Bool) { registryDefault.store(on, ordering: .relaxed) }

    /// The current global `use_registry` value (see ``useRegistry(_:)``).
    public static var useRegistry: Bool { registryDefault.load(ordering: .relaxed) }

    /// Makes the process's default backend `choice`. Call it before the first socket is opened
    /// on the default backend; afterwards it throws `invalid`. Without this call the default
    /// comes from `ESOCK_IO_BACKEND` (`select`, `completion` or `auto`; `auto` when unset).
    public static func setDefaultBackend(_ choice: BackendChoice) throws(SocketError) {
        try defaults.withLock { (d: inout Defaults) throws(SocketError) in
            guard d.backend == nil else { throw .invalid("the default backend is already \(d.backend!.name)") }
            let (backend, reason) = try makeBackend(choice)
            d.backend = backend
            d.fallbackReason = reason
        }
    }

    /// The process's default backend, started on first use (see ``setDefaultBackend(_:)``).
    public static func defaultBackend() throws(SocketError) -> any IOBackend {
        try defaults.withLock { (d: inout Defaults) throws(SocketError) -> any IOBackend in
            if let b = d.backend { return b }
            let raw = getenv("ESOCK_IO_BACKEND").map { String(cString: $0) } ?? "auto"
            guard let choice = BackendChoice(rawValue: raw.lowercased()) else {
                throw .invalid("ESOCK_IO_BACKEND=\(raw): expected select, completion or auto")
            }
            let (backend, reason) = try makeBackend(choice)
            d.backend = backend
            d.fallbackReason = reason
            return backend
        }
    }

    /// Starts a new backend instance of the given kind; for `auto`, also why it fell back to
    /// select, if it did.
    static func makeBackend(_ choice: BackendChoice) throws(SocketError) -> (any IOBackendDriver, String?) {
        switch choice {
        case .select:
            return (try SelectBackend(), nil)
        case .completion:
            return (try CompletionBackend(), nil)
        case .auto:
            do {
                return (try CompletionBackend(), nil)
            } catch {
                return (try SelectBackend(), "io_uring unavailable: \(error.reason)")
            }
        }
    }

    /// The number of open sockets (Erlang: `number_of/0`).
    public static func numberOf() -> Int { Registry.shared.count }

    /// The open sockets (Erlang: `which_sockets/0`).
    public static func whichSockets() -> [Socket] { Registry.shared.all }

    /// The open sockets for which `filter` is true (Erlang: `which_sockets/1` with a fun).
    public static func whichSockets(where filter: (Socket) -> Bool) -> [Socket] { Registry.shared.all.filter(filter) }

    /// The open registered sockets `filter` selects (Erlang: `which_sockets/1`), oldest first.
    public static func whichSockets(_ filter: SocketFilter) -> [Socket] {
        Registry.shared.all.filter(filter.matches).sorted { $0.id < $1.id }
    }

    /// Library information (Erlang: `info/0`).
    public static func info() -> LibraryInfo {
        let (backend, reason) = defaults.withLock { ($0.backend, $0.fallbackReason) }
        var counters = Registry.shared.kinds
        counters["num_cnt_bits"] = UInt64(UInt64.bitWidth)
        var backendInfo = backend?.info()
        if let reason { backendInfo?.settings["fallback"] = reason }
        return LibraryInfo(counters: counters, iovMax: Int(sysconf(Int32(_SC_IOV_MAX))),
                           useRegistry: useRegistry, ioBackend: backendInfo)
    }
}

/// What ``ESock/info()`` returns: Erlang's `info()` map.
public struct LibraryInfo: Sendable, Hashable {
    /// Global counters, exactly as OTP names them: `num_sockets` (every open socket, in the
    /// registry or not), `num_dinet`, `num_dinet6`, `num_dlocal` (per domain), `num_tstreams`,
    /// `num_tdgrams`, `num_tseqpkgs` (per type), `num_pip`, `num_ptcp`, `num_pudp`, `num_psctp`
    /// (per protocol; sockets opened with the default protocol count in none), and
    /// `num_cnt_bits`, the width of the socket counters.
    public var counters: [String: UInt64]
    /// The largest I/O vector the platform allows.
    public var iovMax: Int
    /// The global `use_registry` value (see ``ESock/useRegistry(_:)``).
    public var useRegistry: Bool
    /// The default backend, once started (Erlang: `io_backend`).
    public var ioBackend: BackendInfo?
}
