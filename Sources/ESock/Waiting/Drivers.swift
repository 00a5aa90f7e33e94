import Synchronization

/// Every running backend, for waiters that cannot tell which one will deliver. A backend is
/// listed from its start to its `shutdown()` (strong references: a weak one would put every
/// retain of the backend on the runtime's slow path).
enum Drivers {
    private static let list = Locked<[any PollDriver]>([])

    static func add(_ d: any PollDriver) {
        list.withLock { $0.append(d) }
    }

    static func remove(_ d: any PollDriver) {
        list.withLock { $0.removeAll { $0 === d } }
    }

    static var all: [any PollDriver] { list.withLock { $0 } }
}
