// swift run esock-fileserver --file PATH [--backend select|completion|auto] [--port 7000]
// Serves PATH over HTTP with sendfile; try it with: curl -o copy http://127.0.0.1:7000/
import ESock
import ESockExamples
#if canImport(Glibc)
import Glibc
#endif

do {
    let options = try ExampleOptions(Array(CommandLine.arguments.dropFirst()))
    guard let file = options.file else { throw SocketError(.invalid("--file PATH is required")) }
    if let choice = options.backend { try ESock.setDefaultBackend(choice) }
    let server = try FileServer(path: file, port: options.port)
    print("serving \(file) on http://127.0.0.1:\(server.port)/, backend \(try ESock.defaultBackend().name)")
    fflush(nil)
    await server.run()
} catch {
    print("esock-fileserver: \(error)")
    exit(1)
}
