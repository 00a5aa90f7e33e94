#if canImport(Glibc)
import Glibc
#endif

extension SocketAddress {
    /// Decodes a C socket address given as its bytes (family first), e.g. inside a control
    /// message; at most a `sockaddr_storage` is read.
    init(bytes: [UInt8]) {
        var storage = sockaddr_storage()
        let n = min(bytes.count, MemoryLayout<sockaddr_storage>.size)
        withUnsafeMutableBytes(of: &storage) { dst in
            bytes.withUnsafeBytes { src in dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[0..<n])) }
        }
        self.init(storage: storage, length: socklen_t(n))
    }
}
