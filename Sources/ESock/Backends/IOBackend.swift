/// The I/O model of a backend: how an operation that cannot finish at once is continued.
public enum IOModel: String, Sendable, Hashable {
    /// Readiness: a select message says "call again now" (OTP's Unix `essio`).
    case select
    /// Completion: the kernel does the operation; a completion message carries the result
    /// (OTP's Windows `esaio`, here on io_uring).
    case completion
}

/// What ``IOBackend/info()`` reports: Erlang's `info()` key `io_backend`.
public struct BackendInfo: Sendable, Hashable {
    /// The backend's name (`select` or `completion`).
    public var name: String
    /// Its I/O model.
    public var model: IOModel
    /// Threads the backend runs (the epoll thread, or the CQE harvester).
    public var threads: Int
    /// The backend's own counters (events, submissions, completions, wake-ups ...).
    public var counters: [String: UInt64]
    /// Settings the backend started with (ring sizes, setup flags, fallback reason ...), and its
    /// `state`: `running`, `stopped` (after ``IOBackend/shutdown()``), or `broken: <why>` when its
    /// kernel object failed under it (its epoll or io_uring descriptor closed or replaced by code
    /// elsewhere in the process): it then refuses new sockets (``SocketError/Reason/backendStopped(_:)``)
    /// and every call that would wait fails with `EBADFD`, until it is shut down.
    public var settings: [String: String]
}

/// An I/O backend: the mechanism under a socket that waits for the kernel, like an entry of
/// OTP's I/O backend table. ESock has two: ``SelectBackend`` (epoll) and
/// ``CompletionBackend`` (io_uring). Every socket belongs to one backend for its whole life;
/// one process may use both at once. A backend runs, with its thread and kernel objects, until
/// ``shutdown()``; dropping the last reference to it does not stop it.
public protocol IOBackend: AnyObject, Sendable {
    /// The backend's name: `select` or `completion`.
    var name: String { get }
    /// The backend's I/O model.
    var model: IOModel { get }
    /// Runs tasks on the backend's own thread, so that `async` socket calls resume without a
    /// thread hand-off (see ``BackendExecutor``).
    var executor: BackendExecutor { get }
    /// The backend's state and counters: Erlang's `info()` key `io_backend`.
    func info() -> BackendInfo
    /// Runs `body` on the backend's own thread (the epoll thread, or the completion backend's
    /// ring owner) and returns what it returns; the calling thread waits until then (a call
    /// from that thread runs `body` at once). Blocking calls in `body` drive the backend from
    /// its own thread, and on the completion backend its operations go to the ring with no
    /// hand-off: a nowait server loop (Erlang style: nowait calls and a mailbox) run this way
    /// costs no thread switch per operation. Tasks on ``executor`` run while `body` waits in a
    /// blocking call. Throws `backendStopped` once the backend stopped.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) throws -> T
    /// Stops the backend's thread and releases its kernel objects. Sockets still open on it
    /// are closed first.
    func shutdown()
}

/// What the socket engine needs from a backend. Internal, so that sockets run only on
/// ESock's own backends. Every backend has a kernel wait that waiting callers can drive
/// (``PollDriver``), and its model's rules (``IOModelRules``).
protocol IOBackendDriver: IOBackend, PollDriver {
    /// The rules of the backend's I/O model, which each socket's state machine asks.
    var rules: any IOModelRules { get }
    /// True when a send of `bytes` made now (on the calling thread) by `caller` goes to the
    /// kernel's queue at once instead of being tried with send(2) first (completion, on the ring
    /// owner's thread: every send, or with `sendsThroughRing` off only a large nowait or
    /// blocking one; it goes in with the owner's next `io_uring_enter`, batched with the others).
    /// Evaluated per call. Asked of the backend, not of ``rules``: reading `rules` makes its
    /// value each time (select: a struct holding the backend; completion: the rules object,
    /// returned retained), a retain and a release per send.
    func sendsThroughKernel(for caller: Caller, bytes: Int) -> Bool
    /// True (completion) when an operation that waits keeps the data it has still to send or
    /// has received so far, because the kernel continues it; false (select) when the caller
    /// keeps them and calls again with the rest. Asked of the backend, as
    /// ``sendsThroughKernel(for:bytes:)``.
    var operationsKeepData: Bool { get }
    /// Takes a new socket; throws `backendStopped` once the backend stopped.
    func attach(_ socket: Socket) throws(SocketError)
    /// Stops watching a socket that is being closed.
    func detach(_ socket: Socket)
    /// Completion backend: hands an operation to the kernel (its SQE). Called with no lock
    /// held, after the transition that counted it in `state.inflight`; its last CQE always
    /// comes, also when a cancel reached the ring before it.
    func arm(_ op: Operation)
    /// Completion backend: asks the kernel to cancel an armed operation. Its last CQE still
    /// comes. Called with no lock held.
    func cancelInKernel(_ op: Operation)
    /// For a receive on `socket` that may not wait (a zero timeout) and found nothing, or whose
    /// time ran out: lets the kernel's side deliver what it already holds for the socket
    /// (completion: the multishot receiver's data in CQEs not handled yet), before the receive
    /// is tried once more or cancelled. True when that may have brought something.
    func catchUp(_ socket: Socket) -> Bool
}
