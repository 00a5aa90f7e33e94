#if canImport(Glibc)
import Glibc
#endif
import Synchronization

#if ESOCK_PTHREAD_LOCKS
/// A value guarded by a lock, for sanitizer builds (`-Xswiftc -DESOCK_PTHREAD_LOCKS`): a
/// pthread mutex, which ThreadSanitizer understands, with `Synchronization.Mutex`'s `withLock`.
/// (On Linux `Mutex` locks with futexes TSan does not see, so every access it guards would be
/// reported as a race and real races could not be told from them.)
// @unchecked Sendable: `value` is only touched inside `withLock`, with the mutex held.
package final class Locked<Value>: @unchecked Sendable {
    // `value` comes first: a zero-sized value (`Locked<Void>`) then has an address inside this
    // object, not at its end, where TSan would take it for the next object's first field.
    private var value: Value
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    package init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    package func withLock<Result, E: Error>(_ body: (inout Value) throws(E) -> Result) throws(E) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
#else
/// A value guarded by a lock (for the package's other modules too): `Synchronization.Mutex` (a pthread mutex in sanitizer builds, see
/// the `ESOCK_PTHREAD_LOCKS` branch of this file).
package typealias Locked<Value> = Mutex<Value>
#endif
