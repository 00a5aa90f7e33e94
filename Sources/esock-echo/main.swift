// swift run esock-echo [--backend select|completion|auto] [--port 7000]
// An ESock echo server; try it with: nc 127.0.0.1 7000
import ESock
import ESockExamples
#if canImport(Glibc)
import Glibc
#endif

do {
    let options = try ExampleOptions(Array(CommandLine.arguments.dropFirst()), port: 7000)
    if let choice = options.backend { try ESock.setDefaultBackend(choice) }
    let server = try EchoServer(port: options.port)
    print("echo server on 127.0.0.1:\(server.port), backend \(try ESock.defaultBackend().name)")
    fflush(nil)
    await server.run()
} catch {
    print("esock-echo: \(error)")
    exit(1)
}
