import Testing

/// Behaviour that traps or hangs when it is wrong (a backend whose kernel object fails under it
/// among them), checked in a process of its own (`esock-stress probe`,
/// Sources/esock-stress/Probes*.swift), so a regression fails one case instead of killing the
/// test runner. The child bounds itself with alarm(2).
@Suite("Probes in a child process: bad input, deinit and lock cascades, stopped backends, signals", .leakChecked)
struct ProbeTests {
    static let probes = ["bad-input", "dropped-owner", "predicates", "lock-order", "descriptor-race", "shutdown", "signals", "wakeups", "sendfile-reset", "broken-backend", "descriptor-exhaustion"]

    @Test("each probe holds on every backend", arguments: probes, Backend.allCases)
    func probe(_ name: String, _ backend: Backend) throws {
        try backend.requireAvailable()
        let (status, output) = try runStress(["probe", name, backend.rawValue])
        #expect(status == 0, "esock-stress probe \(name) \(backend.rawValue) ended with \(status):\n\(output)")
        #expect(output.contains("result=ok"), "\(output)")
    }
}
