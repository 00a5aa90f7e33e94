#if canImport(Glibc)
import Glibc
#endif

/// A slot per thread holding one object (pthread thread-specific data): the library's one
/// thread-local holder. The object is released when its thread ends.
///
/// Used for what each thread keeps at hand: the receive scratch buffer, the private mailbox of
/// blocking calls, and a spare slot for async calls (``AsyncCallSlot``).
final class ThreadLocal<Value: AnyObject>: Sendable {
    private let key: pthread_key_t

    init() {
        var k = pthread_key_t()
        // The destructor runs at thread exit with the slot's retained object.
        pthread_key_create(&k) { if let p = $0 { Unmanaged<AnyObject>.fromOpaque(p).release() } }
        key = k
    }

    /// The calling thread's object, without taking it out; nil when the slot is empty.
    var current: Value? {
        guard let p = pthread_getspecific(key) else { return nil }
        return Unmanaged<Value>.fromOpaque(p).takeUnretainedValue()
    }

    /// The calling thread's object, made by `make` and kept on first use.
    @inline(__always)
    func value(_ make: () -> Value) -> Value {
        if let p = pthread_getspecific(key) { return Unmanaged<Value>.fromOpaque(p).takeUnretainedValue() }
        let v = make()
        pthread_setspecific(key, Unmanaged.passRetained(v).toOpaque())
        return v
    }

    /// Takes the calling thread's object out of its slot; nil when the slot is empty.
    func take() -> Value? {
        guard let p = pthread_getspecific(key) else { return nil }
        pthread_setspecific(key, nil)
        return Unmanaged<Value>.fromOpaque(p).takeRetainedValue()
    }

    /// Puts `value` in the calling thread's slot if it is empty; false when it holds one already.
    func put(_ value: Value) -> Bool {
        guard pthread_getspecific(key) == nil else { return false }
        pthread_setspecific(key, Unmanaged.passRetained(value).toOpaque())
        return true
    }
}
