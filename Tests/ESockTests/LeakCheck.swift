@testable import ESock
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Checks that a test leaves the process's open descriptors and the library's registry as it
/// found them. Exact only when tests run one at a time, so it checks when `ESOCK_LEAK_CHECK=1`
/// (CI runs the suite so: `ESOCK_LEAK_CHECK=1 swift test --no-parallel`) and does nothing
/// otherwise. Every suite carries it (`.leakChecked`), and it applies to each test case.
struct LeakCheckTrait: TestTrait, SuiteTrait, TestScoping {
    static let enabled = getenv("ESOCK_LEAK_CHECK").map { String(cString: $0) == "1" } ?? false

    var isRecursive: Bool { true }

    func scopeProvider(for test: Test, testCase: Test.Case?) -> Self? {
        Self.enabled && testCase != nil ? self : nil
    }

    func provideScope(for test: Test, testCase: Test.Case?,
                      performing function: @Sendable () async throws -> Void) async throws {
        // The shared backends are made once and kept: make those this machine runs before counting.
        for b in Backend.allCases where b.unavailability == nil { _ = try b.shared() }
        let fds = openDescriptorCount(), sockets = Registry.shared.count
        try await function()
        let fdsAfter = openDescriptorCount(), socketsAfter = Registry.shared.count
        #expect(fdsAfter == fds, "\(test.name) leaves \(fdsAfter - fds) descriptors open")
        #expect(socketsAfter == sockets, "\(test.name) leaves \(socketsAfter - sockets) sockets registered")
    }
}

extension Trait where Self == LeakCheckTrait {
    /// Checks each test case for leaked descriptors and sockets (see ``LeakCheckTrait``).
    static var leakChecked: Self { Self() }
}
