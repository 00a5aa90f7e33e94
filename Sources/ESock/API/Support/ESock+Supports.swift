#if canImport(Glibc)
import Glibc
#endif
import CESockShims

extension ESock {
    /// Everything this platform supports (Erlang: `supports/0`).
    public static func supports() -> PlatformSupport {
        PlatformSupport(
            features: Dictionary(uniqueKeysWithValues: PlatformFeature.allCases.map { ($0, isSupported($0)) }),
            messageFlags: Dictionary(uniqueKeysWithValues: MessageFlags.named.map { ($0.name, true) }),
            protocols: Dictionary(knownProtocols.map { ($0, true) }, uniquingKeysWith: { a, _ in a }),
            options: Dictionary(uniqueKeysWithValues: SocketOption.allCases.map { ($0, isSupported(option: $0)) }),
            ioctlRequests: Dictionary(uniqueKeysWithValues: IoctlRequest.allCases.map { ($0.rawValue, $0.isSupported) }))
    }

    /// Whether the platform has `feature` (Erlang: `is_supported/1`).
    public static func isSupported(_ feature: PlatformFeature) -> Bool {
        switch feature {
        case .sctp: return probes.sctp
        case .ipv6: return probes.ipv6
        case .local: return probes.local
        case .netns: return access("/proc/self/ns/net", F_OK) == 0
        case .sendfile: return true
        }
    }

    /// Whether `option` works on this platform (Erlang: `is_supported(options, {Level, Opt})`):
    /// `otp` options always; kernel options when Linux has them, `sctp` ones only where the
    /// kernel has SCTP.
    public static func isSupported(option: SocketOption) -> Bool {
        guard let spec = option.spec else { return true }
        if case .sctp = option, !probes.sctp { return false }
        return spec.name != nil
    }

    /// The options of `level` with their answers (Erlang: `supports(options, Level)`); nil for
    /// the `otp` level.
    public static func supports(options level: SocketLevel?) -> [(option: SocketOption, supported: Bool)] {
        SocketOption.allCases.filter { $0.level == level }.map { ($0, isSupported(option: $0)) }
    }

    /// Whether `flag`, one of Erlang's `msg_flag()` names (`peek`, `errqueue`, ...), exists here
    /// (Erlang: `is_supported(msg_flags, Flag)`).
    public static func isSupported(messageFlag name: String) -> Bool {
        MessageFlags.named.contains { $0.name == name }
    }

    /// Whether `request` works on this platform (Erlang: `is_supported(ioctl_requests, Request)`).
    public static func isSupported(ioctlRequest request: IoctlRequest) -> Bool { request.isSupported }

    /// Whether this system knows the protocol `name` (Erlang: `is_supported(protocols, Name)`).
    public static func isSupported(protocol name: String) -> Bool { knownProtocols.contains(name) }

    /// The kernel's answers, asked once: can it open an SCTP, an IPv6 and a local socket.
    private static let probes: (sctp: Bool, ipv6: Bool, local: Bool) = {
        func opens(_ domain: Int32, _ type: Int32, _ proto: Int32) -> Bool {
            let fd = esock_socket(domain, type, proto)
            guard fd >= 0 else { return false }
            Syscall.close(fd)
            return true
        }
        let seqpacket = Int32(SOCK_SEQPACKET.rawValue), dgram = Int32(SOCK_DGRAM.rawValue)
        return (opens(AF_INET, seqpacket, Int32(IPPROTO_SCTP)), opens(AF_INET6, dgram, 0), opens(AF_UNIX, dgram, 0))
    }()

    /// The protocol names of the system's protocol database (`getprotoent(3)`, names and
    /// aliases) and the ones ESock names itself.
    private static let knownProtocols: Set<String> = {
        var names: Set<String> = ["ip", "ipv6", "tcp", "udp", "icmp", "ipv6-icmp", "raw"]
        if probes.sctp { names.insert("sctp") }
        protocolDatabase.withLock { _ in
            setprotoent(0)
            while let entry = getprotoent() {
                if let name = entry.pointee.p_name { names.insert(String(cString: name)) }
                var alias = entry.pointee.p_aliases
                while let a = alias?.pointee {
                    names.insert(String(cString: a))
                    alias = alias?.advanced(by: 1)
                }
            }
            endprotoent()
        }
        return names
    }()

    /// `getprotoent(3)` walks a process-wide cursor: one walker at a time.
    private static let protocolDatabase = Locked(())
}
