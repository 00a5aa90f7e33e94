import Synchronization

private let nextHandleID = Atomic<UInt64>(1)

/// A unique token naming one asynchronous operation: Erlang's `make_ref()` as used for a
/// `select_handle()` or `completion_handle()`.
///
/// Pass one as `handle:` to a `nowait:` call to choose the handle that the returned
/// ``SelectInfo`` or ``CompletionInfo`` and the later message carry; otherwise the call makes one.
public struct Handle: Hashable, Sendable, CustomStringConvertible {
    /// The handle's number, unique in this process.
    public let id: UInt64

    /// Makes a new handle, unique in this process (Erlang: `make_ref()`).
    public static func make() -> Handle {
        Handle(id: nextHandleID.wrappingAdd(1, ordering: .relaxed).oldValue)
    }

    public var description: String { "#Handle<\(id)>" }
}
