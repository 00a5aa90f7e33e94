/// SET and GET of many keys, one command at a time and pipelined, checking that every value
/// read back is the one written, then DEL of them all: the example behind
/// `swift run esock-redis-bench`.
public struct RedisBench: Sendable {
    /// One timed round of commands.
    public struct Phase: Sendable {
        /// What was done: `SET, one at a time` ...
        public var name: String
        /// Commands sent (one per key).
        public var commands: Int
        /// How long they took, replies included.
        public var duration: Duration

        /// Commands per second.
        public var perSecond: Double {
            let (s, attos) = duration.components
            let seconds = Double(s) + Double(attos) / 1e18
            return seconds > 0 ? Double(commands) / seconds : 0
        }
    }

    /// The keys set and read.
    public var keys: Int
    /// The bytes of each value.
    public var valueSize: Int
    /// Commands per pipeline (0: all the keys in one).
    public var depth: Int
    /// What every key starts with.
    public var prefix = "esock:bench:"

    /// A run over `keys` keys of `valueSize`-byte values, pipelines of `depth` commands (0: one).
    public init(keys: Int, valueSize: Int, depth: Int = 0) {
        self.keys = max(0, keys)
        self.valueSize = max(0, valueSize)
        self.depth = max(0, depth)
    }

    /// The name of key `i`.
    public func key(_ i: Int) -> String { "\(prefix)\(i)" }

    /// The value written to key `i` in `round`: `round:i:` repeated to ``valueSize`` bytes, so
    /// each key and round has its own and a read is checked against exactly what was written.
    public func value(_ i: Int, round: Int) -> [UInt8] {
        let seed = Array("\(round):\(i):".utf8)
        var value: [UInt8] = []
        value.reserveCapacity(valueSize + seed.count)
        while value.count < valueSize { value += seed }
        value.removeLast(value.count - valueSize)
        return value
    }

    /// Runs the rounds on `client`: SET and GET one at a time, SET and GET pipelined, DEL
    /// pipelined. Throws ``RedisError/mismatch(key:)`` when a value read is not the one written.
    public func run(on client: RedisClient) async throws(RedisError) -> [Phase] {
        var phases: [Phase] = []
        let clock = ContinuousClock()

        var t = clock.now
        for i in 0..<keys { try await client.set(key(i), value(i, round: 1)) }
        phases.append(Phase(name: "SET, one at a time", commands: keys, duration: clock.now - t))

        t = clock.now
        for i in 0..<keys where try await client.get(key(i)) != value(i, round: 1) {
            throw .mismatch(key: key(i))
        }
        phases.append(Phase(name: "GET, one at a time", commands: keys, duration: clock.now - t))

        t = clock.now
        try await pipelined(client, { .set(key($0), value($0, round: 2)) }, expect: { _ in .simpleString("OK") })
        phases.append(Phase(name: "SET, pipelined", commands: keys, duration: clock.now - t))

        t = clock.now
        try await pipelined(client, { .get(key($0)) }, expect: { .bulkString(value($0, round: 2)) })
        phases.append(Phase(name: "GET, pipelined", commands: keys, duration: clock.now - t))

        t = clock.now
        try await pipelined(client, { .del(key($0)) }, expect: { _ in .integer(1) })
        phases.append(Phase(name: "DEL, pipelined", commands: keys, duration: clock.now - t))
        return phases
    }

    /// Sends `command(i)` for every key in pipelines of ``depth``; each reply must be `expect(i)`.
    private func pipelined(_ client: RedisClient, _ command: (Int) -> RedisCommand,
                           expect: (Int) -> RESPValue) async throws(RedisError) {
        let step = depth == 0 ? max(keys, 1) : depth
        for first in stride(from: 0, to: keys, by: step) {
            let batch = first..<min(keys, first + step)
            let replies = try await client.pipeline(batch.map(command))
            for (i, reply) in zip(batch, replies) where reply != expect(i) {
                if case .error(let message) = reply { throw .server(message) }
                throw .mismatch(key: key(i))
            }
        }
    }
}
