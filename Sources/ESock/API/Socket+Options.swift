#if canImport(Glibc)
import Glibc
#endif

extension Socket {
    /// The value of `option` (Erlang: `getopt/2`): a kernel option read with `getsockopt(2)`, or
    /// one of ESock's own (`{otp, Opt}`).
    ///
    /// Set-only options (`{ip, add_membership}`, ...) answer `invalid`, options Linux does not
    /// have (see ``ESock/isSupported(option:)``) `notSupported`, a closed socket `closed`; the
    /// kernel's refusals keep their errno.
    public func getopt(_ option: SocketOption) throws(SocketError) -> OptionValue {
        try checkOpen()
        guard case .otp(let o) = option else {
            let (level, name, spec) = try kernelOption(option)
            guard spec.access.canGet else { throw .invalid("\(option) is set only") }
            let bytes = try getsockopt(level: level, option: name, capacity: OptionCodec.capacity(of: spec.kind))
            return try OptionCodec.decode(bytes, as: spec.kind, for: option.description)
        }
        switch o {
        case .debug: return .bool(state.withLock { $0.debug })
        case .iow: return .bool(state.withLock { $0.iow })
        case .controllingProcess: return owner.map(OptionValue.mailbox) ?? .undefined
        case .rcvbuf:
            let (count, size) = state.withLock { ($0.recvBufferCount, $0.recvBufferSize) }
            return count == 1 ? .int(size) : .bufferSizes(count: count, size: size)
        case .rcvctrlbuf: return .int(state.withLock { $0.recvControlBufferSize })
        case .sndctrlbuf: return .int(state.withLock { $0.sendControlBufferSize })
        case .meta: return state.withLock { $0.meta }
        case .useRegistry: return .bool(useRegistry)
        case .fd: return .int(Int(fd))
        case .domain: return .domain(domain)
        }
    }

    /// Sets `option` to `value` (Erlang: `setopt/3`): a kernel option with `setsockopt(2)`, or
    /// one of ESock's own (`{otp, Opt}`).
    ///
    /// `caller` matters only for `{otp, controlling_process}`, which only the current owner may
    /// change (Erlang checks the calling process): see ``setControllingProcess(_:by:)``. A value
    /// of the wrong kind or out of range answers `invalid` naming the option, get-only options
    /// (`{socket, type}`, ...) `invalid`, options Linux does not have `notSupported`.
    public func setopt(_ option: SocketOption, _ value: OptionValue, by caller: Mailbox? = nil) throws(SocketError) {
        try checkOpen()
        guard case .otp(let o) = option else {
            let (level, name, spec) = try kernelOption(option)
            guard spec.access.canSet else { throw .invalid("\(option) is get only") }
            let bytes = try OptionCodec.encode(value, as: spec.kind, for: option.description)
            try setsockopt(level: level, option: name, bytes)
            return
        }
        func wrong() -> SocketError { .invalid("\(option) does not take \(value)") }
        func positive(_ v: OptionValue, default d: Int) throws(SocketError) -> Int {
            switch v {
            case .int(let n) where n > 0 && n <= 1 << 30: return n
            case .size(nil): return d
            case .size(.some(let n)) where n > 0 && n <= 1 << 30: return n
            default: throw wrong()
            }
        }
        switch o {
        case .debug, .iow:
            guard case .bool(let on) = value else { throw wrong() }
            state.withLock { if o == .debug { $0.debug = on } else { $0.iow = on } }
        case .controllingProcess:
            guard case .mailbox(let newOwner) = value else { throw wrong() }
            guard let caller else { throw .invalid("\(option) needs the caller's mailbox (by:)") }
            try setControllingProcess(newOwner, by: caller)
        case .rcvbuf:
            let (count, size): (Int, Int)
            switch value {
            case .bufferSizes(let n, let s):
                guard n > 0, n <= 1 << 16 else { throw wrong() }
                (count, size) = (n, try positive(.size(s), default: SocketState.defaultRecvBufferSize))
            default: (count, size) = (1, try positive(value, default: SocketState.defaultRecvBufferSize))
            }
            state.withLock { ($0.recvBufferCount, $0.recvBufferSize) = (count, size) }
        case .rcvctrlbuf:
            let size = try positive(value, default: SocketState.defaultControlBufferSize)
            state.withLock { $0.recvControlBufferSize = size }
        case .sndctrlbuf:
            let size = try positive(value, default: SocketState.defaultControlBufferSize)
            state.withLock { $0.sendControlBufferSize = size }
        case .meta:
            state.withLock { $0.meta = value }
        case .useRegistry, .fd, .domain:
            throw .invalid("\(option) is get only")
        }
    }

    /// The value of a kernel option given by number (Erlang: `getopt_native/3`), read as `spec`
    /// says: an integer, a boolean, or bytes.
    public func getoptNative(level: SocketLevel, option: Int32, as spec: NativeValueSpec) throws(SocketError) -> OptionValue {
        try checkOpen()
        switch spec {
        case .integer, .boolean:
            return try OptionCodec.decode(getsockopt(level: level.rawValue, option: option, capacity: 4),
                                          as: spec == .integer ? .int : .bool, for: "{\(level), \(option)}")
        case .size(let n):
            guard n >= 0, n <= 1 << 20 else { throw .invalid("value size \(n)") }
            return .bytes(try getsockopt(level: level.rawValue, option: option, capacity: n))
        case .buffer(let bytes):
            guard bytes.count <= 1 << 20 else { throw .invalid("value size \(bytes.count)") }
            return .bytes(try getsockopt(level: level.rawValue, option: option, initial: bytes))
        }
    }

    /// Sets a kernel option given by number (Erlang: `setopt_native/3`): ``OptionValue/int(_:)``
    /// and ``OptionValue/bool(_:)`` are passed as a C `int`, ``OptionValue/bytes(_:)`` as they are.
    public func setoptNative(level: SocketLevel, option: Int32, _ value: OptionValue) throws(SocketError) {
        try checkOpen()
        let bytes: [UInt8]
        switch value {
        case .int: bytes = try OptionCodec.encode(value, as: .int, for: "{\(level), \(option)}")
        case .bool: bytes = try OptionCodec.encode(value, as: .bool, for: "{\(level), \(option)}")
        case .bytes(let b): bytes = b
        default: throw .invalid("{\(level), \(option)}: a native option takes an integer, a boolean or bytes, not \(value)")
        }
        try setsockopt(level: level.rawValue, option: option, bytes)
    }

    /// The C level, C name and description of a kernel option; `notSupported` when Linux lacks it.
    private func kernelOption(_ option: SocketOption) throws(SocketError) -> (Int32, Int32, OptionSpec) {
        guard let level = option.level, let spec = option.spec else { throw .invalid("\(option) is not a kernel option") }
        guard let name = spec.name else { throw .notSupported }
        return (level.rawValue, name, spec)
    }

    /// `getsockopt(2)` into `capacity` bytes, or into a copy of `initial`; the bytes it gave.
    private func getsockopt(level: Int32, option: Int32, capacity: Int = 0, initial: [UInt8]? = nil) throws(SocketError) -> [UInt8] {
        var buffer = initial ?? [UInt8](repeating: 0, count: capacity)
        var length = socklen_t(buffer.count)
        try withDescriptor { (fd) throws(SocketError) in
            let rc = buffer.withUnsafeMutableBytes { Glibc.getsockopt(fd, level, option, $0.baseAddress, &length) }
            if rc < 0 { throw .posix(errno) }
        }
        return Array(buffer.prefix(Int(length)))
    }

    /// `setsockopt(2)` with `bytes`.
    private func setsockopt(level: Int32, option: Int32, _ bytes: [UInt8]) throws(SocketError) {
        try withDescriptor { (fd) throws(SocketError) in
            let rc = bytes.withUnsafeBytes { Glibc.setsockopt(fd, level, option, $0.baseAddress, socklen_t($0.count)) }
            if rc < 0 { throw .posix(errno) }
        }
    }
}
