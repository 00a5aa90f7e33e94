/// The rules an I/O model gives the socket engine: the decisions in which select and
/// completion differ, and nothing else. Each backend supplies its model's rules
/// (``SelectRules``, ``CompletionRules``); the shared transitions of `SocketState` ask them
/// instead of testing which model they run on.
///
/// Every method runs inside the socket's lock, as part of a transition: it may change the state
/// and make bounded non-blocking kernel calls on the socket's descriptor, and it returns what
/// must happen afterwards in `fx`.
///
/// Class-bound: a socket's state holds its backend's one rules object in two words.
protocol IOModelRules: AnyObject, Sendable {
    /// The model (for `info` and traces).
    var model: IOModel { get }

    /// True (select): a call from the mailbox that owns the current operation of its kind is
    /// that caller calling again (after its select message the retry; before it a call that
    /// replaces the operation, OTP-18635), and a caller has one place in a queue. False
    /// (completion): every call is an operation of its own, queued in arrival order.
    var callsAgain: Bool { get }

    /// The answer to a caller whose operation waits (Erlang's `{select, SelectInfo}` or
    /// `{completion, CompletionInfo}`), with what moved when the model reports it.
    func answer(_ op: Operation, partial: consuming OperationValue?) -> Pending<OperationValue>

    /// The current operation `op` must wait after its attempt, which moved `partial`; `ready`
    /// when the attempt stopped with the socket still ready (its syscall budget ran out). Throws
    /// when the backend cannot watch the socket (epoll refused it).
    func wait(_ op: Operation, partial: OperationValue?, ready: Bool, _ st: inout SocketState,
              _ fx: inout Effects) throws(SocketError)

    /// `op` became its queue's current operation when the one before it ended. Returns true when
    /// it stays current (it waits for its turn to complete); false when it finished at once (its
    /// message is in `fx`) and the turn passes on.
    func takeTurn(_ op: Operation, _ st: inout SocketState, _ fx: inout Effects) -> Bool

    /// Cancels the current operation `op` (Erlang: `cancel/2`). True when the kernel holds it:
    /// it is then cancelling, and its last completion still comes. `timedOut`: its caller gives
    /// it up because the call's time ran out.
    func cancel(_ op: Operation, timedOut: Bool, _ st: inout SocketState, _ fx: inout Effects) -> Bool

    /// The socket closes: what the model holds in the kernel for the socket beyond its
    /// operations is stopped (completion: the multishot receiver).
    func closing(_ st: inout SocketState, _ fx: inout Effects)

    /// The socket closes with `op` current or queued. True when the kernel holds it: its abort
    /// message then goes out with its last completion, with what it moved.
    func abort(_ op: Operation, _ st: inout SocketState, _ fx: inout Effects) -> Bool
}
