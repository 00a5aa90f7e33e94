// swift run esock-http [--api async|nowait] [--backend select|completion|auto] [--port 8080] [--file PATH]
// An HTTP/1.1 keep-alive server: GET / (a greeting), GET /file (PATH, by sendfile), POST /echo.
// Try it with: curl http://127.0.0.1:8080/ http://127.0.0.1:8080/file -o /dev/null -o copy
import ESock
import ESockExamples
#if canImport(Glibc)
import Glibc
#endif

/// Serves as the command line asks, until the process is stopped; the exit status on an error.
func serve(_ arguments: [String]) async -> Int32 {
    do {
        let options = try ExampleOptions(arguments, port: 8080)
        if let choice = options.backend { try ESock.setDefaultBackend(choice) }
        let backend = try ESock.defaultBackend()
        let file = try options.file.map { path throws(SocketError) in try ServedFile(path: path) }
        let site = HTTPSite(greeting: "Hello from ESock (\(backend.name) backend, \(options.api) API)\n", file: file)
        signal(SIGPIPE, SIG_IGN)
        switch options.api {
        case .async:
            let server = try HTTPServer(port: options.port, site: site, backend: backend)
            print("http://127.0.0.1:\(server.port)/ (\(backend.name) backend, async API)")
            fflush(nil)
            // On the backend's own thread: a message and the task it resumes stay on one thread.
            await Task(executorPreference: backend.executor) { await server.run() }.value
        case .nowait:
            let server = try HTTPNowaitServer(port: options.port, site: site, backend: backend)
            print("http://127.0.0.1:\(server.port)/ (\(backend.name) backend, nowait API)")
            fflush(nil)
            server.run()
        }
        return 0
    } catch {
        print("esock-http: \(error)")
        return 1
    }
}

exit(await serve(Array(CommandLine.arguments.dropFirst())))
