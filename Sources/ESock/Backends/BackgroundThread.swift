#if canImport(Glibc)
import Glibc
#endif
import CESockShims

/// A named kernel thread running one closure: the epoll thread and the CQE harvester.
// @unchecked Sendable: a pthread_t is an opaque handle; join may be called from any thread.
struct BackgroundThread: @unchecked Sendable {
    private let thread: pthread_t

    private final class Box {
        let name: String
        let body: @Sendable () -> Void
        init(name: String, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }

    /// Starts a thread named `name` (at most 15 characters show) running `body`.
    init(name: String, _ body: @escaping @Sendable () -> Void) throws(SocketError) {
        let box = Unmanaged.passRetained(Box(name: name, body: body)).toOpaque()
        var t = pthread_t()
        let rc = pthread_create(&t, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            esock_set_thread_name(box.name)
            box.body()
            return nil
        }, box)
        guard rc == 0 else {
            Unmanaged<Box>.fromOpaque(box).release()
            throw .posix(rc)
        }
        thread = t
    }

    /// Waits for the thread to end.
    func join() {
        pthread_join(thread, nil)
    }
}
