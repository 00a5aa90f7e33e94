#if canImport(Glibc)
import Glibc
#endif
import ESock
import Synchronization

/// A regular file an HTTP example serves with `sendfile`: opened once, read-only, and closed by
/// ``close()`` once no response reads from it any more (ESock closes nothing in a deinit: a
/// file dropped without `close()` keeps its descriptor until the process ends). Its size is
/// read at each response, so a file that changes is served as it is then.
public final class ServedFile: Sendable {
    /// The path it was opened from.
    public let path: String
    /// The open descriptor `sendfile` reads from (`sendfile` takes an offset, so many
    /// connections can send from it at once).
    public let fd: Int32

    /// Opens the regular file at `path` (open(2) with O_RDONLY).
    public init(path: String) throws(SocketError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .posix(errno) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            _ = Glibc.close(fd)
            throw .invalid("\(path) is not a regular file")
        }
        self.path = path
        self.fd = fd
    }

    private let closed = Atomic<Bool>(false)

    /// Closes the descriptor (close(2)); later calls do nothing. Call it after the server that
    /// serves the file stopped: its number may be given to the next file or socket opened.
    public func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        _ = Glibc.close(fd)
    }

    /// The file's size now (fstat(2)), or nil when it cannot be read.
    public var size: Int? {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        return Int(st.st_size)
    }
}
