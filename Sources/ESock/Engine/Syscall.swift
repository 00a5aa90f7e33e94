#if canImport(Glibc)
import Glibc
#endif
import CESockShims

/// Thin wrappers over the socket system calls. Each retries on EINTR and returns the call's
/// result, or the negated errno on failure (the convention io_uring's CQEs use too).
enum Syscall {
    @inline(__always)
    static func retrying(_ body: () -> Int) -> Int {
        while true {
            let r = body()
            if r >= 0 { return r }
            let e = errno
            if e != EINTR { return -Int(e) }
        }
    }

    /// ``retrying(_:)`` for a call on a descriptor the engine owns. Such a descriptor is used only
    /// while its socket is open (the socket's lock keeps close(2) apart), so EBADF means it was
    /// closed behind the library's back, which would let a reused number receive another
    /// socket's data: a programmer error, as in SwiftNIO.
    @inline(__always)
    static func owned(_ body: () -> Int) -> Int {
        let r = retrying(body)
        precondition(r != -Int(EBADF), "EBADF on a descriptor a Socket owns: it was closed outside Socket.close()")
        return r
    }

    /// recv(2).
    static func recv(_ fd: Int32, _ buf: UnsafeMutableRawPointer?, _ len: Int, _ flags: Int32) -> Int {
        owned { Glibc.recv(fd, buf, len, flags) }
    }

    /// send(2), never raising SIGPIPE.
    static func send(_ fd: Int32, _ buf: UnsafeRawPointer?, _ len: Int, _ flags: Int32) -> Int {
        owned { Glibc.send(fd, buf, len, flags | ESOCK_MSG_NOSIGNAL) }
    }

    /// recvmsg(2).
    static func recvmsg(_ fd: Int32, _ header: UnsafeMutablePointer<msghdr>, _ flags: Int32) -> Int {
        owned { Glibc.recvmsg(fd, header, flags) }
    }

    /// sendmsg(2), never raising SIGPIPE.
    static func sendmsg(_ fd: Int32, _ header: UnsafePointer<msghdr>, _ flags: Int32) -> Int {
        owned { Glibc.sendmsg(fd, header, flags | ESOCK_MSG_NOSIGNAL) }
    }

    /// The largest I/O vector sendmsg(2) takes (sysconf `_SC_IOV_MAX`).
    static let iovMax: Int = max(Int(sysconf(Int32(_SC_IOV_MAX))), 16)

    /// accept4(2) with SOCK_NONBLOCK | SOCK_CLOEXEC.
    static func accept(_ fd: Int32) -> Int {
        owned { Int(esock_accept4(fd, nil, nil)) }
    }

    /// connect(2).
    static func connect(_ fd: Int32, _ addr: UnsafePointer<sockaddr>, _ len: socklen_t) -> Int {
        // A connect interrupted by a signal goes on in the background: report it as in progress.
        let r = Glibc.connect(fd, addr, len)
        if r == 0 { return 0 }
        let e = errno
        return -Int(e == EINTR ? EINPROGRESS : e)
    }

    /// sendfile(2); `offset` is advanced by what was sent.
    static func sendfile(_ out: Int32, _ file: Int32, _ offset: inout Int64, _ count: Int) -> Int {
        retrying { esock_sendfile(out, file, &offset, count) }
    }

    /// The pending error of a socket (getsockopt SO_ERROR).
    static func socketError(_ fd: Int32) -> Int32 {
        var err: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 { return errno }
        return err
    }

    /// close(2). EINTR is not retried: on Linux the descriptor is released regardless.
    static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }
}

/// A per-thread scratch buffer for receives of unknown length: the kernel writes into it and the
/// received bytes are copied into an exactly sized array, so no socket keeps a large buffer.
enum Scratch {
    static let size = 65536

    /// The memory of one thread's buffer, freed when the thread ends.
    final class Buffer {
        let pointer = UnsafeMutableRawPointer.allocate(byteCount: Scratch.size, alignment: 64)
        deinit { pointer.deallocate() }
    }

    private static let slot = ThreadLocal<Buffer>()

    /// The calling thread's buffer of ``size`` bytes.
    static var buffer: UnsafeMutableRawPointer { slot.value { Buffer() }.pointer }
}
