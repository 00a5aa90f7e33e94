#if DEBUG
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A debug builds' test aid: the messages about one socket's operations are posted late, as if
/// the thread that ended an operation were descheduled between its transition (the operation
/// left the queue) and the post. Tests widen that window with it to check that a call given up
/// at that moment (a timeout, a task's cancellation) still gets the operation's result
/// (Tests/ESockTests/LateMessageTests.swift).
enum LatePosts {
    /// The id of the socket whose messages are delayed; 0: none.
    static let socket = Atomic<UInt64>(0)
    /// How long each of its messages is held back, in microseconds.
    static let delay = Atomic<UInt32>(0)

    /// Holds the calling thread back when `socket` is the one chosen.
    @inline(__always)
    static func wait(for socket: UInt64) {
        guard _slowPath(Self.socket.load(ordering: .relaxed) == socket) else { return }
        usleep(delay.load(ordering: .relaxed))
    }
}
#endif
