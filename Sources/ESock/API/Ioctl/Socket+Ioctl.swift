#if canImport(Glibc)
import Glibc
#endif

extension Socket {
    /// Gets a socket parameter (Erlang: `ioctl(Socket, GetRequest)`).
    ///
    /// - `gifconf` (SIOCGIFCONF) → ``IoctlResult/interfaces(_:)``: every interface with its IPv4
    ///   address;
    /// - `nread` (FIONREAD) → ``IoctlResult/int(_:)``: bytes ready to be read;
    /// - `nwrite` (SIOCOUTQ) → ``IoctlResult/int(_:)``: bytes in the send queue;
    /// - `nspace` (FIONSPACE): not on Linux, throws `notsup`;
    /// - `atmark` (SIOCATMARK) → ``IoctlResult/bool(_:)``: whether the out-of-band mark is reached;
    /// - `tcp_info` (getsockopt IPPROTO_TCP TCP_INFO) → ``IoctlResult/tcpInfo(_:)``.
    ///
    /// Another request throws `invalid`; the kernel's refusal throws its errno.
    public func ioctl(_ request: IoctlRequest) throws(SocketError) -> IoctlResult {
        try checkOpen()
        try Self.check(request, is: .get)
        switch request {
        case .gifconf: return .interfaces(try interfaceConfiguration())
        case .nread: return .int(Int(try intIoctl(UInt(FIONREAD))))
        case .nwrite: return .int(Int(try intIoctl(UInt(TIOCOUTQ))))
        case .atmark: return .bool(try intIoctl(UInt(SIOCATMARK)) != 0)
        case .tcpInfo:
            // The same getsockopt(IPPROTO_TCP, TCP_INFO) as `{tcp, info}`, which always decodes
            // to a TCPInfo or throws.
            guard case .tcpInfo(let info) = try getopt(.tcp(.info)) else { throw .invalid("tcp_info") }
            return .tcpInfo(info)
        default: throw SocketError(.notSupported)
        }
    }

    /// Gets a parameter of a network interface (Erlang: `ioctl(Socket, GetRequest, NameOrIndex)`).
    ///
    /// `gifname` (SIOCGIFNAME) takes an ``InterfaceKey/index(_:)`` and returns
    /// ``IoctlResult/name(_:)``; the others take an ``InterfaceKey/name(_:)``:
    /// `gifindex` (SIOCGIFINDEX), `gifmtu` (SIOCGIFMTU), `giftxqlen` (SIOCGIFTXQLEN) →
    /// ``IoctlResult/int(_:)``; `gifaddr` (SIOCGIFADDR), `gifdstaddr` (SIOCGIFDSTADDR),
    /// `gifbrdaddr` (SIOCGIFBRDADDR), `gifnetmask` (SIOCGIFNETMASK) → ``IoctlResult/address(_:)``;
    /// `gifhwaddr` (SIOCGIFHWADDR) → ``IoctlResult/hardwareAddress(_:)``; `gifflags`
    /// (SIOCGIFFLAGS) → ``IoctlResult/flags(_:)``.
    ///
    /// A request of another form, a key of the wrong kind, a negative index, or a name that is
    /// empty, longer than 15 bytes or holds a zero byte throws `invalid`. An interface that does
    /// not exist throws `enodev` (or `enxio` for an unknown index, as the kernel says).
    public func ioctl(_ request: IoctlRequest, interface: InterfaceKey) throws(SocketError) -> IoctlResult {
        try checkOpen()
        try Self.check(request, is: .getInterface)
        var req = ifreq()
        if request == .gifname {
            guard case .index(let index) = interface else {
                throw .invalid("ioctl gifname takes an interface index, not \(interface)")
            }
            guard index >= 0 else { throw .invalid("ioctl gifname: negative interface index \(index)") }
            req.ifr_ifru.ifru_ivalue = index
            try interfaceIoctl(UInt(SIOCGIFNAME), &req)
            return .name(Self.name(of: req))
        }
        guard case .name(let name) = interface else {
            throw .invalid("ioctl \(request) takes an interface name, not \(interface)")
        }
        try Self.setName(name, in: &req, for: request)
        switch request {
        case .gifindex:
            try interfaceIoctl(UInt(SIOCGIFINDEX), &req)
            return .int(Int(req.ifr_ifru.ifru_ivalue))
        case .gifmtu:
            try interfaceIoctl(UInt(SIOCGIFMTU), &req)
            return .int(Int(req.ifr_ifru.ifru_mtu))
        case .giftxqlen:
            try interfaceIoctl(UInt(SIOCGIFTXQLEN), &req)
            return .int(Int(req.ifr_ifru.ifru_ivalue))
        case .gifaddr, .gifdstaddr, .gifbrdaddr, .gifnetmask:
            let code: UInt = switch request {
            case .gifaddr: UInt(SIOCGIFADDR)
            case .gifdstaddr: UInt(SIOCGIFDSTADDR)
            case .gifbrdaddr: UInt(SIOCGIFBRDADDR)
            default: UInt(SIOCGIFNETMASK)
            }
            try interfaceIoctl(code, &req)
            return .address(Self.address(req.ifr_ifru.ifru_addr))
        case .gifhwaddr:
            try interfaceIoctl(UInt(SIOCGIFHWADDR), &req)
            let sa = req.ifr_ifru.ifru_hwaddr
            var bytes = withUnsafeBytes(of: sa.sa_data) { Array($0) }
            if HardwareAddress.sixByteFamilies.contains(sa.sa_family) { bytes = Array(bytes.prefix(6)) }
            return .hardwareAddress(HardwareAddress(family: sa.sa_family, bytes: bytes))
        default:
            try interfaceIoctl(UInt(SIOCGIFFLAGS), &req)
            return .flags(InterfaceFlags(rawValue: UInt32(UInt16(bitPattern: req.ifr_ifru.ifru_flags))))
        }
    }

    /// Sets a socket parameter (Erlang: `ioctl(Socket, SetRequest, Value)`): `rcvall`,
    /// `rcvall_igmpmcall`, `rcvall_mcall` (Windows WSAIoctl SIO_RCVALL*). None exists on Linux:
    /// they throw `notsup`; another request throws `invalid`.
    public func ioctl(_ request: IoctlRequest, value: IoctlSetValue) throws(SocketError) {
        try checkOpen()
        try Self.check(request, is: .set)
        throw SocketError(.notSupported)
    }

    /// Sets a parameter of a network interface (Erlang: `ioctl(Socket, SetRequest, Name, Value)`);
    /// needs CAP_NET_ADMIN.
    ///
    /// - `sifflags` with ``IoctlSetValue/flags(_:)``: reads the flags (SIOCGIFFLAGS), sets the
    ///   ones mapped to true, resets the ones mapped to false, writes them (SIOCSIFFLAGS). Only
    ///   the low 16 flags can be written: ``InterfaceFlag/lowerUp``, ``InterfaceFlag/dormant``
    ///   and ``InterfaceFlag/echo`` throw `invalid`;
    /// - `sifaddr` (SIOCSIFADDR), `sifdstaddr` (SIOCSIFDSTADDR), `sifbrdaddr` (SIOCSIFBRDADDR),
    ///   `sifnetmask` (SIOCSIFNETMASK) with an ``IoctlSetValue/address(_:)`` that is `.inet`;
    /// - `sifmtu` (SIOCSIFMTU), `siftxqlen` (SIOCSIFTXQLEN) with an ``IoctlSetValue/int(_:)``;
    /// - `sifhwaddr` (SIOCSIFHWADDR) with a ``IoctlSetValue/hardwareAddress(_:)``.
    ///
    /// Another request, a value of the wrong kind or out of range, or a bad name throws
    /// `invalid`; the kernel's refusal throws its errno (`eperm` without privilege).
    public func ioctl(_ request: IoctlRequest, interface name: String, value: IoctlSetValue) throws(SocketError) {
        try checkOpen()
        try Self.check(request, is: .setInterface)
        var req = ifreq()
        try Self.setName(name, in: &req, for: request)
        switch (request, value) {
        case (.sifflags, .flags(let changes)):
            var set: UInt32 = 0, reset: UInt32 = 0
            for (flag, on) in changes {
                guard flag.bit <= 0xFFFF else {
                    throw .invalid("ioctl sifflags: flag \(flag) cannot be changed with SIOCSIFFLAGS")
                }
                if on { set |= flag.bit } else { reset |= flag.bit }
            }
            try interfaceIoctl(UInt(SIOCGIFFLAGS), &req)
            let current = UInt32(UInt16(bitPattern: req.ifr_ifru.ifru_flags))
            let wanted = (current | set) & ~reset
            req.ifr_ifru.ifru_flags = Int16(bitPattern: UInt16(truncatingIfNeeded: wanted))
            try interfaceIoctl(UInt(SIOCSIFFLAGS), &req)
        case (.sifaddr, .address(let a)), (.sifdstaddr, .address(let a)), (.sifbrdaddr, .address(let a)),
             (.sifnetmask, .address(let a)):
            guard case .inet = a else { throw .invalid("ioctl \(request) takes an inet address, not \(a)") }
            var storage = sockaddr_storage()
            _ = try a.encode(into: &storage)
            req.ifr_ifru.ifru_addr = withUnsafeBytes(of: storage) { $0.loadUnaligned(as: sockaddr.self) }
            let code: UInt = switch request {
            case .sifaddr: UInt(SIOCSIFADDR)
            case .sifdstaddr: UInt(SIOCSIFDSTADDR)
            case .sifbrdaddr: UInt(SIOCSIFBRDADDR)
            default: UInt(SIOCSIFNETMASK)
            }
            try interfaceIoctl(code, &req)
        case (.sifmtu, .int(let n)), (.siftxqlen, .int(let n)):
            guard n >= 0, n <= Int(Int32.max) else { throw .invalid("ioctl \(request): value \(n) out of range") }
            if request == .sifmtu {
                req.ifr_ifru.ifru_mtu = Int32(n)
                try interfaceIoctl(UInt(SIOCSIFMTU), &req)
            } else {
                req.ifr_ifru.ifru_ivalue = Int32(n)
                try interfaceIoctl(UInt(SIOCSIFTXQLEN), &req)
            }
        case (.sifhwaddr, .hardwareAddress(let hw)):
            var sa = sockaddr()
            guard hw.bytes.count <= MemoryLayout.size(ofValue: sa.sa_data) else {
                throw .invalid("ioctl sifhwaddr: \(hw.bytes.count) bytes, at most 14 fit")
            }
            sa.sa_family = hw.family
            withUnsafeMutableBytes(of: &sa.sa_data) { $0.copyBytes(from: hw.bytes) }
            req.ifr_ifru.ifru_hwaddr = sa
            try interfaceIoctl(UInt(SIOCSIFHWADDR), &req)
        default:
            throw .invalid("ioctl \(request) does not take \(value)")
        }
    }

    // MARK: - Helpers

    /// Throws `invalid` when `request` is not called in `form`, then `notsup` when this
    /// platform lacks it.
    private static func check(_ request: IoctlRequest, is form: IoctlRequest.Form) throws(SocketError) {
        guard request.form == form else {
            let arity = switch request.form {
            case .get: "ioctl/2 (no interface, no value)"
            case .getInterface: "ioctl/3 with an interface"
            case .set: "ioctl/3 with a value"
            case .setInterface: "ioctl/4 with an interface and a value"
            }
            throw .invalid("ioctl request \(request) is called as \(arity)")
        }
        guard request.isSupported else { throw SocketError(.notSupported) }
    }

    /// Writes `name` into `req.ifr_name`; throws `invalid` when it does not fit or holds a zero.
    private static func setName(_ name: String, in req: inout ifreq, for request: IoctlRequest) throws(SocketError) {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty else { throw .invalid("ioctl \(request): empty interface name") }
        guard !bytes.contains(0) else { throw .invalid("ioctl \(request): interface name holds a zero byte") }
        guard bytes.count < Int(IFNAMSIZ) else {
            throw .invalid("ioctl \(request): interface name of \(bytes.count) bytes, at most \(Int(IFNAMSIZ) - 1)")
        }
        withUnsafeMutableBytes(of: &req.ifr_ifrn.ifrn_name) { $0.copyBytes(from: bytes) }
    }

    /// The interface name in `req` (up to its zero byte).
    private static func name(of req: ifreq) -> String {
        withUnsafeBytes(of: req.ifr_ifrn.ifrn_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    /// A 16-byte `struct sockaddr` as an address.
    private static func address(_ sa: sockaddr) -> SocketAddress {
        var storage = sockaddr_storage()
        withUnsafeMutableBytes(of: &storage) { dst in withUnsafeBytes(of: sa) { dst.copyMemory(from: $0) } }
        return SocketAddress(storage: storage, length: socklen_t(MemoryLayout<sockaddr>.size))
    }

    /// ioctl(fd, code, &int).
    private func intIoctl(_ code: UInt) throws(SocketError) -> Int32 {
        try withDescriptor { (fd) throws(SocketError) in
            var value: Int32 = 0
            if Glibc.ioctl(fd, code, &value) < 0 { throw .posix(errno) }
            return value
        }
    }

    /// ioctl(fd, code, &req).
    private func interfaceIoctl(_ code: UInt, _ req: inout ifreq) throws(SocketError) {
        try withDescriptor { (fd) throws(SocketError) in
            if Glibc.ioctl(fd, code, &req) < 0 { throw .posix(errno) }
        }
    }

    /// ioctl(fd, SIOCGIFCONF, &conf).
    private func interfaceConfigurationIoctl(_ conf: inout ifconf) throws(SocketError) {
        try withDescriptor { (fd) throws(SocketError) in
            if Glibc.ioctl(fd, UInt(SIOCGIFCONF), &conf) < 0 { throw .posix(errno) }
        }
    }

    /// SIOCGIFCONF: asks the size with a null buffer, then reads; retries when an interface
    /// appeared in between.
    private func interfaceConfiguration() throws(SocketError) -> [InterfaceAddress] {
        let entrySize = MemoryLayout<ifreq>.size
        for _ in 0..<8 {
            var conf = ifconf()
            conf.ifc_len = 0
            conf.ifc_ifcu.ifcu_buf = nil
            try interfaceConfigurationIoctl(&conf)
            // One spare entry tells a full buffer from one that just fits.
            let capacity = Int(conf.ifc_len) + entrySize
            var buffer = [UInt8](repeating: 0, count: capacity)
            let result: SocketError? = buffer.withUnsafeMutableBytes { raw in
                conf.ifc_len = Int32(capacity)
                conf.ifc_ifcu.ifcu_buf = raw.baseAddress?.assumingMemoryBound(to: CChar.self)
                defer { conf.ifc_ifcu.ifcu_buf = nil }
                do throws(SocketError) { try interfaceConfigurationIoctl(&conf) } catch { return error }
                return nil
            }
            if let result { throw result }
            let used = Int(conf.ifc_len)
            if used >= capacity { continue }
            var out: [InterfaceAddress] = []
            var at = 0
            while at + entrySize <= used {
                let req = buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: at, as: ifreq.self) }
                out.append(InterfaceAddress(name: Self.name(of: req), address: Self.address(req.ifr_ifru.ifru_addr)))
                at += entrySize
            }
            return out
        }
        throw .posix(EAGAIN)
    }
}
