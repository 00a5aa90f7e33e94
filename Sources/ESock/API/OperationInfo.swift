/// The operation an asynchronous call started: Erlang's `select_tag()` and `completion_tag()`.
public enum OperationTag: String, Sendable, Hashable {
    case accept, connect, recv, recvfrom, recvmsg, send, sendto, sendmsg, sendv, sendfile
}

/// What a `nowait:` call returns on the select backend when it must wait:
/// Erlang's `{select_info, SelectTag, SelectHandle}`.
///
/// A ``SocketMessage/select(socket:handle:)`` message with the same handle says the operation can
/// now be completed by calling it again.
public struct SelectInfo: Sendable, Hashable {
    /// The operation that waits.
    public let tag: OperationTag
    /// The handle the select message will carry.
    public let handle: Handle
}

/// What a `nowait:` call returns on the completion backend when the operation was started in the
/// kernel: Erlang's `{completion_info, CompletionTag, CompletionHandle}`.
///
/// A ``SocketMessage/completion(socket:handle:status:)`` message with the same handle carries the
/// operation's result.
public struct CompletionInfo: Sendable, Hashable {
    /// The operation in progress.
    public let tag: OperationTag
    /// The handle the completion message will carry.
    public let handle: Handle
}

/// The result of an asynchronous (`nowait:`) call: Erlang's
/// `{ok, Value} | {select, SelectInfo} | {select, {SelectInfo, Partial}} | {completion, CompletionInfo}`.
public enum Pending<Value: Sendable>: Sendable {
    /// The operation completed at once; no message will follow.
    case done(Value)
    /// Select backend: wait for the select message, then call again. `partial` holds what already
    /// moved: data received so far (`recv` with a length on a stream), the data not yet sent
    /// (`send`), or the bytes sent so far (`sendfile`).
    case select(SelectInfo, partial: Value?)
    /// Completion backend: the operation runs in the kernel; its result comes in a completion message.
    case completion(CompletionInfo)

    /// The handle a message for this operation will carry, or nil when it is done.
    public var handle: Handle? {
        switch self {
        case .done: return nil
        case .select(let info, _): return info.handle
        case .completion(let info): return info.handle
        }
    }
}
