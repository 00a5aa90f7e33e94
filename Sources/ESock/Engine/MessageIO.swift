#if canImport(Glibc)
import Glibc
#endif

/// The memory of a recvmsg(2) or sendmsg(2) call: the `msghdr`, the address, the I/O vector,
/// the control buffer and, for a receive, the data, in one block of memory that does not move;
/// a send's data stays in the caller's arrays, which the I/O vector points into and which the
/// call keeps (not copied). An ``Operation`` owns it, so on the completion backend it lives until
/// the kernel's last completion for the operation (an `IORING_OP_RECVMSG`/`SENDMSG` SQE points
/// at the header).
///
/// Guarded like the operation that owns it: by its socket's state lock.
final class MessageIO {
    /// The header to pass to the kernel; filled by ``prepareReceive()`` / ``prepareSend(iovMax:)``.
    let header: UnsafeMutablePointer<msghdr>
    private let name: UnsafeMutablePointer<sockaddr_storage>
    /// Sending: the length of the encoded address; 0 when there is none.
    private var nameLength: socklen_t = 0
    private let iovecs: UnsafeMutablePointer<iovec>
    private let iovCount: Int
    /// Receiving: the buffer the kernel writes into (empty when sending).
    private let data: UnsafeMutableRawBufferPointer
    private let control: UnsafeMutableRawBufferPointer
    private let controlSize: Int
    /// Sending: the caller's arrays, which the I/O vector points into. Held, so their storage
    /// stays where it is; nothing writes it (an array is copied on write, and these are only
    /// read), so what goes is what the caller passed.
    private let sending: [[UInt8]]
    /// The one allocation holding the header, the address, the I/O vector, the control buffer
    /// and a receive's data.
    private let block: UnsafeMutableRawPointer
    /// Sending: the first element of the I/O vector not sent completely, and bytes sent so far.
    private(set) var firstUnsent = 0
    private(set) var sent = 0
    /// Sending: whether a call was made (a message of zero bytes is sent once).
    private(set) var started = false
    /// The total number of data bytes (receiving: the buffer size).
    let total: Int
    /// The operation's ``Operation/cancelLatch``: kept here, not in the operation's extras, so
    /// that a message call's operation holds one of the two (it has no other extra field).
    var cancelLatch: Latch?

    private init(iovCount: Int, total: Int, dataSize: Int, controlSize: Int, sending: [[UInt8]]) {
        // The parts' places in the block, each aligned for what it holds.
        var size = 0
        func place(_ bytes: Int, _ alignment: Int) -> Int {
            size = (size + alignment - 1) & ~(alignment - 1)
            defer { size += bytes }
            return size
        }
        let headerAt = place(MemoryLayout<msghdr>.stride, MemoryLayout<msghdr>.alignment)
        let nameAt = place(MemoryLayout<sockaddr_storage>.stride, MemoryLayout<sockaddr_storage>.alignment)
        let iovAt = place(MemoryLayout<iovec>.stride * max(iovCount, 1), MemoryLayout<iovec>.alignment)
        let controlAt = place(controlSize, 16)
        let dataAt = place(dataSize, 16)
        block = .allocate(byteCount: size, alignment: 16)
        header = (block + headerAt).bindMemory(to: msghdr.self, capacity: 1)
        header.initialize(to: msghdr())
        name = (block + nameAt).bindMemory(to: sockaddr_storage.self, capacity: 1)
        name.initialize(to: sockaddr_storage())
        self.iovCount = iovCount
        iovecs = (block + iovAt).bindMemory(to: iovec.self, capacity: max(iovCount, 1))
        iovecs.initialize(repeating: iovec(), count: max(iovCount, 1))
        control = UnsafeMutableRawBufferPointer(start: block + controlAt, count: controlSize)
        self.controlSize = controlSize
        data = UnsafeMutableRawBufferPointer(start: block + dataAt, count: dataSize)
        self.total = total
        self.sending = sending
    }

    /// Memory to receive one message of at most `bufferSize` bytes with `controlSize` bytes of
    /// control messages.
    convenience init(receiving bufferSize: Int, controlSize: Int) {
        self.init(iovCount: 1, total: bufferSize, dataSize: max(bufferSize, 1), controlSize: controlSize, sending: [])
        iovecs[0] = iovec(iov_base: data.baseAddress, iov_len: bufferSize)
    }

    /// `iov` to send to `address` with the encoded control messages `controlBytes`: the arrays
    /// are kept and the I/O vector points into them; the control messages are copied.
    convenience init(sending iov: [[UInt8]], to address: SocketAddress?, control controlBytes: [UInt8]) throws(SocketError) {
        let total = iov.reduce(0) { $0 + $1.count }
        self.init(iovCount: iov.count, total: total, dataSize: 0, controlSize: controlBytes.count, sending: iov)
        for i in 0..<iovCount {
            let base = sending[i].withUnsafeBytes { $0.baseAddress }
            iovecs[i] = iovec(iov_base: UnsafeMutableRawPointer(mutating: base), iov_len: sending[i].count)
        }
        if !controlBytes.isEmpty { control.copyBytes(from: controlBytes) }
        if let address {
            nameLength = try address.encode(into: &name.pointee)
        }
    }

    deinit {
        assert(sendingStorageUnmoved, "the kept arrays' storage moved while the kernel could read it")
        // The parts are plain C structures and bytes: nothing to deinitialize.
        block.deallocate()
    }

    /// Whether each element of the I/O vector still points into the storage of the array it was
    /// made from (a send advances it within that array): Swift promises a pointer from
    /// `withUnsafeBytes` only inside the call, but a native array's elements live in a heap
    /// object that is never moved, and only a write gives an array new storage; these arrays are
    /// never written. Checked by an assertion when the memory is freed (every test run).
    private var sendingStorageUnmoved: Bool {
        guard !sending.isEmpty else { return true }
        for i in 0..<iovCount {
            let element = sending[i]
            guard let base = element.withUnsafeBytes({ $0.baseAddress }) else { continue }
            let at = UnsafeRawPointer(iovecs[i].iov_base).map { $0 - base } ?? 0
            guard at >= 0 && at <= element.count else { return false }
        }
        return true
    }

    // MARK: Receiving

    /// Resets the header for a receive (the kernel overwrites the lengths and flags).
    func prepareReceive() {
        header.pointee = msghdr(
            msg_name: UnsafeMutableRawPointer(name), msg_namelen: socklen_t(MemoryLayout<sockaddr_storage>.size),
            msg_iov: iovecs, msg_iovlen: 1,
            msg_control: controlSize > 0 ? control.baseAddress : nil, msg_controllen: controlSize,
            msg_flags: 0)
    }

    /// The message a receive of `count` bytes left in the memory (`count` may exceed the buffer
    /// when the caller asked for `MSG_TRUNC`: the datagram's real length).
    func received(_ count: Int) -> Msg {
        let h = header.pointee
        let address: SocketAddress? = h.msg_namelen > 0 ? SocketAddress(storage: name.pointee, length: h.msg_namelen) : nil
        let bytes = Array(UnsafeRawBufferPointer(start: data.baseAddress, count: min(count, total)))
        let controlLength = min(h.msg_controllen, controlSize)
        let messages = h.msg_control == nil || controlLength == 0 ? [] :
            ControlMessage.decode(UnsafeRawBufferPointer(start: control.baseAddress, count: controlLength))
        return Msg(address: address, iov: [bytes], control: messages, flags: MessageFlags(rawValue: h.msg_flags))
    }

    // MARK: Sending

    /// Bytes not sent yet.
    var remaining: Int { total - sent }

    /// Sets the header for the next send: the unsent part of the I/O vector, at most `iovMax`
    /// elements; the address; the control messages only with the first call (they go once).
    func prepareSend(iovMax: Int) {
        header.pointee = msghdr(
            msg_name: nameLength > 0 ? UnsafeMutableRawPointer(name) : nil, msg_namelen: nameLength,
            msg_iov: iovecs + firstUnsent, msg_iovlen: min(iovCount - firstUnsent, iovMax),
            msg_control: !started && controlSize > 0 ? control.baseAddress : nil,
            msg_controllen: !started ? controlSize : 0, msg_flags: 0)
    }

    /// Records that a send took `count` bytes: moves the I/O vector past them.
    func advance(by count: Int) {
        started = true
        sent += count
        var left = count
        while left > 0 && firstUnsent < iovCount {
            let length = iovecs[firstUnsent].iov_len
            if left >= length {
                left -= length
                firstUnsent += 1
            } else {
                iovecs[firstUnsent].iov_base += left
                iovecs[firstUnsent].iov_len -= left
                left = 0
            }
        }
        // Empty elements after the last byte sent are sent too.
        while firstUnsent < iovCount && iovecs[firstUnsent].iov_len == 0 && sent == total { firstUnsent += 1 }
    }

    /// The unsent part of the I/O vector, as arrays (Erlang's RestData of sendmsg).
    var rest: [[UInt8]] {
        (firstUnsent..<iovCount).map { Array(UnsafeRawBufferPointer(start: iovecs[$0].iov_base, count: iovecs[$0].iov_len)) }
    }

    /// Whether an error, a cancel or an abort reports the unsent part as a vector (sendv:
    /// Erlang's `RestIOV`) rather than as one array (sendmsg, sendto).
    var restAsVector = false

    /// The unsent part as an error's, a cancel's or an abort's partial.
    var restPartial: SocketError.Partial {
        restAsVector ? .restIOV(rest) : .rest(Array(rest.joined()))
    }
}
