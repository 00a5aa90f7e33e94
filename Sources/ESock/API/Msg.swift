#if canImport(Glibc)
import Glibc
#endif

/// A message for ``Socket/sendmsg(_:flags:timeout:)-11nw`` or from ``Socket/recvmsg(bufferSize:controlSize:flags:timeout:)-9xo4w``:
/// Erlang's `msg_send()` and `msg_recv()`, C's `struct msghdr`.
public struct Msg: Sendable, Hashable, CustomStringConvertible {
    /// The peer address (`msg_name`): where to send on an unconnected socket; where a received
    /// message came from, nil when the kernel gave none (Erlang: the `addr` key is absent).
    public var address: SocketAddress?
    /// The data as an I/O vector (`msg_iov`): Erlang's `iov`.
    public var iov: [[UInt8]]
    /// Control (ancillary) messages (`msg_control`): Erlang's `ctrl`.
    public var control: [ControlMessage]
    /// Received only: the message flags the kernel returned (`msg_flags`), e.g.
    /// ``MessageFlags/trunc`` when the data did not fit, ``MessageFlags/ctrunc`` when the control
    /// messages did not. Ignored by sendmsg, which sets `msg_flags` to 0 as Erlang does.
    public var flags: MessageFlags

    /// A message to send: `iov` to `address` (nil on a connected socket), with `control`.
    public init(address: SocketAddress? = nil, iov: [[UInt8]], control: [ControlMessage] = [],
                flags: MessageFlags = []) {
        self.address = address
        self.iov = iov
        self.control = control
        self.flags = flags
    }

    /// The data of every element of ``iov``, in one array.
    public var data: [UInt8] { iov.count == 1 ? iov[0] : Array(iov.joined()) }

    public var description: String {
        var parts: [String] = []
        if let address { parts.append("addr => \(address)") }
        parts.append("iov => [\(iov.map { "<<\($0.count) bytes>>" }.joined(separator: ", "))]")
        parts.append("ctrl => \(control)")
        parts.append("flags => \(flags)")
        return "#{" + parts.joined(separator: ", ") + "}"
    }
}

extension Msg {
    /// Closes the descriptors an `SCM_RIGHTS` control message of this received message carries:
    /// for a message nobody will receive (its socket closed first), so that they do not leak.
    func closeReceivedDescriptors() {
        for c in control where c.level == .socket && c.type == Int32(SCM_RIGHTS) {
            let size = MemoryLayout<Int32>.size
            c.data.withUnsafeBytes { raw in
                for i in 0..<(raw.count / size) { Syscall.close(raw.loadUnaligned(fromByteOffset: i * size, as: Int32.self)) }
            }
        }
    }
}
