#if canImport(Glibc)
import Glibc
#endif
import ESock

/// A backend whose kernel object fails under it: code elsewhere in the process replaces the
/// descriptor of its io_uring instance (completion) or epoll instance (select) with a pipe, as a
/// stray dup2(2) or a double close followed by a reused number would. The backend must not end
/// the process, spin or hang: what waited fails with a clear error, new sockets are refused,
/// info() says why, the sockets still close and the backend shuts down.
func probeBrokenBackend(_ backendName: String) throws(SocketError) {
    let kernelObject = backendName.hasPrefix("completion") ? "anon_inode:[io_uring]" : "anon_inode:[eventpoll]"
    let before = descriptors(linkingTo: kernelObject)
    let backend = try makeBackend(backendName)
    let made = descriptors(linkingTo: kernelObject).subtracting(before)
    check(made.count == 1, "the backend made one \(kernelObject) descriptor (\(made.sorted()))")
    guard let target = made.first else { return }

    let p = try pair(backend)
    // A receive waits (on completion, in the kernel) on another thread.
    let server = p.server
    let outcome = Locked<SocketError?>(nil)
    let reader = spawn {
        do throws(SocketError) {
            _ = try server.recv(timeout: .seconds(30))
            outcome.withLock { $0 = .invalid("the receive got data") }
        } catch {
            outcome.withLock { $0 = error }
        }
    }
    waitFor("the receive to wait") { server.info().numReaders == 1 }

    // The kernel object's descriptor now names a pipe.
    var ends: [Int32] = [-1, -1]
    check(pipe(&ends) == 0, "made a pipe")
    check(dup2(ends[0], target) == target, "dup2 of a pipe over the backend's descriptor \(target)")
    close(ends[0])
    close(ends[1])
    // The backend's thread looks at its kernel object again (code run on it wakes it).
    _ = try? backend.run {}

    reader()
    let error = outcome.withLock { $0 }
    check(error != nil && error?.reason != .timeout,
          "the waiting receive failed at once with \(String(describing: error?.reason)), not a timeout")
    let state = backend.info().settings["state"] ?? ""
    check(state.hasPrefix("broken"), "info() says the backend is broken: \(state)")
    let refused = thrown { () throws(SocketError) in try Socket.open(.inet, .stream, .tcp, backend: backend) }
    if case .backendStopped(let why)? = refused?.reason {
        ok("a new socket is refused: \(why)")
    } else {
        fail("a new socket on the broken backend: \(String(describing: refused))")
    }
    // A call that would wait fails at once instead of waiting for an event that never comes.
    let late = thrown { () throws(SocketError) in _ = try server.recv(timeout: .seconds(30)) }
    check(late != nil && late?.reason != .timeout, "a later receive that would wait fails: \(String(describing: late?.reason))")
    for s in [p.client, p.server, p.listener] { try s.close() }
    ok("the sockets close")
    backend.shutdown()
    ok("the backend shuts down")
}

/// This process's descriptors whose /proc link reads `link`.
private func descriptors(linkingTo link: String) -> Set<Int32> {
    var found: Set<Int32> = []
    for fd in openDescriptorNumbers() ?? [] {
        var buffer = [CChar](repeating: 0, count: 256)
        let n = readlink("/proc/self/fd/\(fd)", &buffer, buffer.count - 1)
        guard n > 0 else { continue }
        let target = String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if target == link { found.insert(fd) }
    }
    return found
}
