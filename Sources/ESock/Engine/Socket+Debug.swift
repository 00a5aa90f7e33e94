#if canImport(Glibc)
import Glibc
#endif

extension Socket {
    /// Writes one `{otp, debug}` trace line to standard error (one `write(2)`, so that lines of
    /// several threads do not mix).
    func trace(_ line: String) {
        let text = "esock \(self): \(line)\n"
        _ = text.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
    }
}
