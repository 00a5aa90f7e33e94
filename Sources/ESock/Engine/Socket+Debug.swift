#if canImport(Glibc)
import Glibc
#endif

extension Socket {
    /// Hands one `{otp, debug}` trace line to ``ESock/traceSink``, or without one writes it to
    /// standard error (one `write(2)`, so that lines of several threads do not mix).
    func trace(_ line: String) {
        let record = TraceRecord(socketID: id, fd: fd, backend: backend.name, message: line)
        if let sink = ESock.traceSink { return sink(record) }
        let text = "\(record)\n"
        _ = text.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
    }
}
