@testable import ESock
import Testing

/// A transition's effects are performed in the order the transition asked for them, however
/// many there are (a close aborts every queued operation: thousands of effects).
@Suite("Effects: handed out in order, each once")
struct EffectsTests {
    @Test("effects come out in the order they went in, each once, for 0 to 10,000 of them",
          arguments: [0, 1, 2, 3, 10, 10_000])
    func order(_ count: Int) {
        var fx = Effects()
        for i in 0..<count { fx.append(.trace("\(i)")) }
        #expect(fx.isEmpty == (count == 0))
        var seen: [String] = []
        while let effect = fx.next() {
            guard case .trace(let line) = effect else {
                Issue.record("an effect that was not appended: \(effect)")
                continue
            }
            seen.append(line)
        }
        #expect(seen == (0..<count).map { "\($0)" })
        #expect(fx.next() == nil)
        #expect(fx.isEmpty)
    }
}
