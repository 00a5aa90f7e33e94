#if canImport(Glibc)
import Glibc
#endif
import CoreMetrics
import ESock
import Synchronization

/// Exports ESock's counters through swift-metrics: the sockets' counters (Erlang's
/// `socket_counters()`, ``Socket/counters``), the backends' (``IOBackend/info()``'s `counters`)
/// and the library's (``ESock/info()``'s `counters`, Erlang's `info/0`).
///
/// ``collect()`` reads them all once and brings the metrics up to date; ``start(every:)`` does
/// so periodically on a thread of its own until ``stop()``. Metric names are `<prefix>_socket_<counter>`,
/// `<prefix>_backend_<counter>` and `<prefix>_library_<counter>`, each counter under its
/// Erlang name (`esock_socket_read_byte`, `esock_backend_submissions`,
/// `esock_library_num_sockets`):
///
/// - Counts that only grow (`read_byte`, `acc_success`, `epoll_waits`, `completions`, ...) are
///   swift-metrics `Counter`s, incremented at each collection by what they grew since the one
///   before (the first collection that sees a socket or backend adds all it counted so far).
///   A wrap of ESock's 64-bit counter is counted as the growth across it.
/// - Levels and maxima (`*_max`, a backend's `sockets`, all library counters) are `Gauge`s.
///
/// Dimensions: `backend` (its name) on socket and backend metrics; with
/// ``SocketSeries/perSocket`` also `socket` (``Socket/id``) on socket metrics. Backend metrics
/// add up the instances of the same name. The sockets are those of the registry
/// (``ESock/whichSockets()``): a socket opened with `useRegistry: false` is not seen, and what
/// a socket counted between the last collection and its close is not reported. The backends
/// are those of these sockets, the default backend once started, and `backends`; one seen once
/// is reported from then on (the reporter keeps a reference to it).
public final class ESockMetricsReporter: Sendable {
    /// Which series the socket metrics form.
    public enum SocketSeries: Sendable, Hashable {
        /// One series per backend name: the sum over its sockets (maxima: the largest).
        case perBackend
        /// One series per socket (dimension `socket`), destroyed when the socket is gone. The
        /// number of series grows with the number of sockets: for debugging and small servers.
        case perSocket
    }

    /// The first part of every metric's label.
    public let prefix: String
    /// Which series the socket metrics form.
    public let socketSeries: SocketSeries
    private let factory: any MetricsFactory
    private let state: Locked<State>
    private let periodic = Locked<Ticker?>(nil)

    /// A reporter that creates its metrics with `factory` (nil: `MetricsSystem.factory`), named
    /// `<prefix>_...`, and also reports `backends` (beyond those it finds itself).
    public init(prefix: String = "esock", socketSeries: SocketSeries = .perBackend,
                backends: [any IOBackend] = [], factory: (any MetricsFactory)? = nil) {
        self.prefix = prefix
        self.socketSeries = socketSeries
        self.factory = factory ?? MetricsSystem.factory
        var st = State()
        for b in backends { st.note(b) }
        self.state = Locked(st)
    }

    /// Reads every counter once and updates the metrics (see ``ESockMetricsReporter``).
    /// Collections do not overlap: a second caller waits for the first.
    public func collect() {
        let sockets = ESock.whichSockets()
        let library = ESock.info()
        // The default backend, only if it is running already (asking for it would start it).
        let defaultBackend = library.ioBackend == nil ? nil : try? ESock.defaultBackend()
        state.withLock { st in
            report(sockets, &st)
            if let defaultBackend { st.note(defaultBackend) }
            reportBackends(&st)
            for (name, value) in library.counters {
                st.record(SeriesKey(label: "\(prefix)_library_\(name)", dimensions: []), value, factory: factory)
            }
        }
    }

    /// Socket counters: counts grow their counters, maxima set gauges; the series of sockets no
    /// longer registered go.
    private func report(_ sockets: [Socket], _ st: inout State) {
        var maxima: [SeriesKey: UInt64] = [:]
        for socket in sockets {
            st.note(socket.ioBackend)
            var dimensions = [("backend", socket.ioBackend.name)]
            if socketSeries == .perSocket { dimensions.append(("socket", String(socket.id))) }
            let values = socket.counters.asDictionary
            let last = st.sockets[socket.id] ?? [:]
            for (name, value) in values {
                let key = SeriesKey(label: "\(prefix)_socket_\(name)", dimensions: dimensions)
                if name.hasSuffix("_max") {
                    maxima[key] = max(maxima[key] ?? 0, value)
                } else {
                    st.increment(key, by: value &- (last[name] ?? 0), factory: factory)
                }
                if socketSeries == .perSocket { st.seriesOfSocket[socket.id, default: []].insert(key) }
            }
            st.sockets[socket.id] = values
        }
        for (key, value) in maxima { st.record(key, value, factory: factory) }
        let present = Set(sockets.map(\.id))
        for id in st.sockets.keys where !present.contains(id) {
            st.sockets[id] = nil
            for key in st.seriesOfSocket.removeValue(forKey: id) ?? [] { st.destroy(key) }
        }
    }

    /// Backend counters of every backend noted so far: counts grow their counters, levels
    /// (summed over the instances of a name) set gauges.
    private func reportBackends(_ st: inout State) {
        var levels: [SeriesKey: UInt64] = [:]
        for (id, var seen) in st.backends {
            let info = seen.backend.info()
            let dimensions = [("backend", info.name)]
            for (name, value) in info.counters {
                let key = SeriesKey(label: "\(prefix)_backend_\(name)", dimensions: dimensions)
                if Self.backendLevels.contains(name) {
                    levels[key, default: 0] &+= value
                } else {
                    st.increment(key, by: value &- (seen.last[name] ?? 0), factory: factory)
                }
            }
            seen.last = info.counters
            st.backends[id] = seen
        }
        for (key, value) in levels { st.record(key, value, factory: factory) }
    }

    /// Backend counters that are levels, not counts (reported as gauges).
    static let backendLevels: Set<String> = ["sockets"]

    /// Collects now and then every `interval` (at least a millisecond) on a thread of its own,
    /// until ``stop()``; a reporter already started restarts with the new interval. A thread,
    /// not a task: the collections go on when the task pool's threads are all busy (blocking
    /// calls), and make no timer. The thread holds the reporter: call ``stop()`` when done.
    public func start(every interval: Duration) {
        let ticker = Ticker(every: max(interval, .milliseconds(1))) { [self] in collect() }
        let previous = periodic.withLock { running in
            defer { running = ticker }
            return running
        }
        previous?.stop()
    }

    /// Stops the collections ``start(every:)`` began; returns once the last one has finished
    /// (called from a collection itself, it returns at once and that collection is the last).
    public func stop() {
        // Outside the lock: a collection may ask ``isRunning`` while this waits for it.
        let running = periodic.withLock { running in
            defer { running = nil }
            return running
        }
        running?.stop()
    }

    /// Whether ``start(every:)`` collections are running.
    public var isRunning: Bool { periodic.withLock { $0 != nil } }
}

/// One metric: its label and dimensions.
private struct SeriesKey: Hashable {
    let label: String
    let dimensions: [(String, String)]

    static func == (a: SeriesKey, b: SeriesKey) -> Bool {
        a.label == b.label && a.dimensions.elementsEqual(b.dimensions) { $0 == $1 }
    }

    func hash(into h: inout Hasher) {
        h.combine(label)
        for (name, value) in dimensions {
            h.combine(name)
            h.combine(value)
        }
    }
}

/// A backend the reporter reports, and its counters at the last collection.
private struct SeenBackend {
    let backend: any IOBackend
    var last: [String: UInt64] = [:]
}

/// The reporter's memory between collections.
private struct State {
    var counters: [SeriesKey: Counter] = [:]
    var gauges: [SeriesKey: Gauge] = [:]
    /// Each registered socket's counters at the last collection.
    var sockets: [UInt64: [String: UInt64]] = [:]
    /// The series of each socket (``ESockMetricsReporter/SocketSeries/perSocket`` only).
    var seriesOfSocket: [UInt64: Set<SeriesKey>] = [:]
    var backends: [ObjectIdentifier: SeenBackend] = [:]

    /// Reports `backend` from now on (the reference kept makes its identifier stay its own).
    mutating func note(_ backend: any IOBackend) {
        if backends[ObjectIdentifier(backend)] == nil { backends[ObjectIdentifier(backend)] = SeenBackend(backend: backend) }
    }

    /// Adds `amount` to the counter `key`, made (at 0) when new, so that a series exists from the
    /// first collection on. swift-metrics counts in Int64: larger amounts go in several steps.
    mutating func increment(_ key: SeriesKey, by amount: UInt64, factory: any MetricsFactory) {
        let counter = counters[key] ?? Counter(label: key.label, dimensions: key.dimensions, factory: factory)
        counters[key] = counter
        var rest = amount
        while rest > 0 {
            let step = min(rest, UInt64(Int64.max))
            counter.increment(by: Int64(step))
            rest -= step
        }
    }

    /// Sets the gauge `key` to `value` (at most Int64.max, swift-metrics' largest).
    mutating func record(_ key: SeriesKey, _ value: UInt64, factory: any MetricsFactory) {
        let gauge = gauges[key] ?? Gauge(label: key.label, dimensions: key.dimensions, factory: factory)
        gauges[key] = gauge
        gauge.record(Int64(clamping: value))
    }

    /// Destroys the metric `key` (a socket's, when the socket is gone).
    mutating func destroy(_ key: SeriesKey) {
        counters.removeValue(forKey: key)?.destroy()
        gauges.removeValue(forKey: key)?.destroy()
    }
}

/// The thread of ``ESockMetricsReporter/start(every:)``: runs `body`, then waits `interval` (on a
/// condition variable, so that ``stop()`` ends the wait at once), until stopped.
// @unchecked Sendable: `stopping` is only touched with `mutex` held; the rest is set in init.
private final class Ticker: @unchecked Sendable {
    private let interval: Duration
    private let body: @Sendable () -> Void
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var stopping = false
    private var thread = pthread_t()

    init(every interval: Duration, _ body: @escaping @Sendable () -> Void) {
        self.interval = interval
        self.body = body
        pthread_mutex_init(mutex, nil)
        var attr = pthread_condattr_t()
        pthread_condattr_init(&attr)
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        pthread_cond_init(cond, &attr)
        pthread_condattr_destroy(&attr)
        // The thread holds the ticker until it ends.
        let box = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&thread, nil, { raw in
            Unmanaged<Ticker>.fromOpaque(raw!).takeRetainedValue().loop()
            return nil
        }, box)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        cond.deallocate()
        mutex.deallocate()
    }

    private func loop() {
        while true {
            body()
            var deadline = timespec()
            clock_gettime(CLOCK_MONOTONIC, &deadline)
            let (seconds, attoseconds) = interval.components
            var nanoseconds = Int(deadline.tv_nsec) + Int(attoseconds / 1_000_000_000)
            // Seconds past what timespec holds wait "for ever", until stop.
            var wholeSeconds = Int(deadline.tv_sec).addingReportingOverflow(Int(seconds))
            if nanoseconds >= 1_000_000_000 {
                nanoseconds -= 1_000_000_000
                wholeSeconds = wholeSeconds.partialValue.addingReportingOverflow(1)
            }
            deadline.tv_sec = wholeSeconds.overflow ? Int.max : wholeSeconds.partialValue
            deadline.tv_nsec = nanoseconds
            pthread_mutex_lock(mutex)
            while !stopping {
                if pthread_cond_timedwait(cond, mutex, &deadline) == ETIMEDOUT { break }
            }
            let done = stopping
            pthread_mutex_unlock(mutex)
            if done { return }
        }
    }

    /// Ends the loop and waits for the thread (from the thread itself: does not wait).
    func stop() {
        pthread_mutex_lock(mutex)
        stopping = true
        pthread_mutex_unlock(mutex)
        pthread_cond_broadcast(cond)
        if pthread_equal(thread, pthread_self()) != 0 {
            pthread_detach(thread)
        } else {
            pthread_join(thread, nil)
        }
    }
}
