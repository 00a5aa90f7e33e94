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
    // The value with a byte after it, so that its storage is never empty: a zero-sized value
    // (`Locked<Void>`) would share its address with the next field, and TSan then took the
    // unlocked read of `mutex` in `withLock` for a race with the value's access under the lock
    // (or, last, with the next object's first field).
    private var value: (Value, UInt8)
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    package init(_ value: Value) {
        self.value = (value, 0)
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
        return try body(&value.0)
    }
}
#else
/// A value guarded by a lock (for the package's other modules too): `Synchronization.Mutex` (a pthread mutex in sanitizer builds, see
/// the `ESOCK_PTHREAD_LOCKS` branch of this file).
package typealias Locked<Value> = Mutex<Value>
#endif
