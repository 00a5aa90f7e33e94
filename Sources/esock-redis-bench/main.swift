// swift run esock-redis-bench [--host 127.0.0.1] [--port 6379] [--keys 10000] [--value-size 64]
//                             [--depth 0] [--backend select|completion|auto]
// A Redis client over ESock: SET and GET of --keys keys, one at a time and pipelined (--depth
// commands per pipeline, 0: all), every value checked, then DEL. Needs a Redis server, e.g.:
//   redis-server --port 6379 --save '' --appendonly no
import ESock
import ESockExamples
#if canImport(Glibc)
import Glibc
#endif

/// Runs the benchmark the command line asks for; the exit status.
func benchmark(_ arguments: [String]) async -> Int32 {
    do {
        let options = try ExampleOptions(arguments, port: 6379)
        if let choice = options.backend { try ESock.setDefaultBackend(choice) }
        let backend = try ESock.defaultBackend()
        let address = SocketAddress.inet(options.host, port: options.port)
        let client = try await RedisClient.connect(to: address, backend: backend)
        let bench = RedisBench(keys: options.keys, valueSize: options.valueSize, depth: options.depth)
        print("redis at \(address), \(backend.name) backend: \(bench.keys) keys, \(bench.valueSize)-byte values")
        for phase in try await bench.run(on: client) {
            let name = phase.name + String(repeating: " ", count: max(0, 20 - phase.name.count))
            print("\(name) \(phase.commands) commands, \(phase.duration), \(Int(phase.perSecond)) per second")
        }
        print("every value read back was the value written")
        client.close()
        return 0
    } catch {
        print("esock-redis-bench: \(error)")
        return 1
    }
}

exit(await benchmark(Array(CommandLine.arguments.dropFirst())))
