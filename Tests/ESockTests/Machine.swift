import CESockStress
@testable import ESock
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// What this machine offers the tests: the one place that probes it (each capability once, on
/// first need) and says why something is missing.
///
/// The kernel a test run gets differs between machines and sessions: any option, protocol,
/// IPv6's loopback address, root's privileges, network namespaces, raw and packet sockets, SCTP,
/// curl or io_uring may be missing. A test whose precondition the machine lacks is skipped with
/// the reason shown, never silently passed and never failed:
/// - known before the test runs, for the whole test: the trait `.requires(_:)`
///   (Swift Testing's `.enabled(if:)` with the need as its comment);
/// - known only at run time, or only for some arguments (the completion backend's cases when
///   io_uring cannot start): ``skip(_:sourceLocation:)``, which cancels the test or test case;
/// - one part of a test (an option the kernel refuses): ``lacks(_:skipping:sourceLocation:)``
///   (or ``skipPart(_:because:sourceLocation:)`` for a reason found on the way) records a warning
///   naming the part and the reason, and the rest of the test runs.
///
/// `.ci/run` lists every skip and its reason after each test run (docs/reliability.md).
///
/// `ESOCK_TEST_ASSUME_MISSING=io_uring,ipv6-loopback,...` (the raw values of ``Capability``)
/// makes capabilities count as missing, to run the skip paths on a machine that has them.
enum Machine {
    /// Something a test may need that a machine may lack.
    enum Capability: String, CaseIterable, Sendable, CustomStringConvertible {
        /// Rings that start (`io_uring_setup`), as the completion backend makes them.
        case ioUring = "io_uring"
        /// IPv6 sockets (`socket(AF_INET6)`).
        case ipv6
        /// IPv6's loopback address ::1 on `lo` (`bind` to [::1]).
        case ipv6Loopback = "ipv6-loopback"
        /// `setsockopt(IPV6_ADDRFORM)`, which newer kernels refuse (ENOPROTOOPT).
        case ipv6Addrform = "ipv6-addrform"
        /// `setsockopt(SO_MARK)` (CAP_NET_ADMIN).
        case socketMark = "so-mark"
        /// `setsockopt(SO_BINDTODEVICE)` on an unbound socket (unprivileged since Linux 5.7).
        case bindToDevice = "so-bindtodevice"
        /// SCTP sockets (`socket(AF_INET, SOCK_SEQPACKET, IPPROTO_SCTP)`).
        case sctp
        /// Raw IPv4 sockets (CAP_NET_RAW).
        case rawSockets = "raw-sockets"
        /// The kernel answers ICMP echo requests (`net.ipv4.icmp_echo_ignore_all` is 0).
        case icmpEcho = "icmp-echo"
        /// Packet sockets (`AF_PACKET`, CAP_NET_RAW).
        case packetSockets = "packet-sockets"
        /// Named network namespaces (`ip netns add`: root and ip(8)).
        case netns
        /// A thread moving to a new network namespace (`unshare(CLONE_NEWNET)`, CAP_SYS_ADMIN).
        case unshareNet = "unshare-net"
        /// nftables rules in a namespace made by ip netns (root, ip(8) and nft(8)): the lossy
        /// network tests drop packets with them.
        case packetFilter = "packet-filter"
        /// curl(1) in PATH.
        case curl

        var description: String {
            switch self {
            case .ioUring: return "io_uring (io_uring_setup)"
            case .ipv6: return "IPv6 sockets"
            case .ipv6Loopback: return "IPv6 loopback (::1 on lo)"
            case .ipv6Addrform: return "setsockopt(IPV6_ADDRFORM)"
            case .socketMark: return "setsockopt(SO_MARK) (CAP_NET_ADMIN)"
            case .bindToDevice: return "setsockopt(SO_BINDTODEVICE)"
            case .sctp: return "SCTP sockets"
            case .rawSockets: return "raw sockets (CAP_NET_RAW)"
            case .icmpEcho: return "ICMP echo replies (net.ipv4.icmp_echo_ignore_all=0)"
            case .packetSockets: return "packet sockets (CAP_NET_RAW)"
            case .netns: return "network namespaces made by ip netns (root and ip(8))"
            case .unshareNet: return "unshare(CLONE_NEWNET) (CAP_SYS_ADMIN)"
            case .packetFilter: return "nftables rules in a network namespace (root, ip(8), nft(8))"
            case .curl: return "curl(1) in PATH"
            }
        }
    }

    /// Why the machine lacks `capability`; nil when it has it. Probed once per run.
    static func missing(_ capability: Capability) -> String? {
        if assumedMissing.contains(capability) { return "\(capability) assumed missing (ESOCK_TEST_ASSUME_MISSING)" }
        switch capability {
        case .ioUring: return ioUringProbe
        case .ipv6: return ipv6Probe
        case .ipv6Loopback: return missing(.ipv6) ?? ipv6LoopbackProbe
        case .ipv6Addrform: return missing(.ipv6) ?? addrformProbe
        case .socketMark: return markProbe
        case .bindToDevice: return bindToDeviceProbe
        case .sctp: return sctpProbe
        case .rawSockets: return rawProbe
        case .icmpEcho: return icmpEchoProbe
        case .packetSockets: return packetProbe
        case .netns: return netnsProbe
        case .unshareNet: return unshareProbe
        case .packetFilter: return missing(.netns) ?? packetFilterProbe
        case .curl: return curlPath == nil ? "no curl in PATH" : nil
        }
    }

    /// Whether the machine has `capability`.
    static func has(_ capability: Capability) -> Bool { missing(capability) == nil }

    /// Why this process cannot hold `count` descriptors at once (its hard RLIMIT_NOFILE is lower);
    /// nil when it can.
    static func descriptorShortfall(_ count: Int) -> String? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return "getrlimit(RLIMIT_NOFILE): \(errnoName(errno))" }
        return limit.rlim_max >= rlim_t(count) ? nil : "needs \(count) open descriptors, the hard limit (ulimit -Hn) is \(limit.rlim_max)"
    }

    /// Skips the running test, or the running case of a parameterized test, with `reason`
    /// (`Test.cancel`). Call it on the test's own task, before any check that could fail.
    ///
    /// Swift Testing 6.3.1 reports a cancelled case of a parameterized test as passed and drops
    /// its comment, so for those a warning carries the reason into the output first.
    static func skip(_ reason: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Never {
        let comment = Comment(rawValue: "skipped: \(reason)")
        if Test.current?.isParameterized == true {
            Issue.record(comment, severity: .warning, sourceLocation: sourceLocation)
        }
        try Test.cancel(comment, sourceLocation: sourceLocation)
    }

    /// Skips the running test (or case) when the machine lacks `capability`.
    static func require(_ capability: Capability, sourceLocation: SourceLocation = #_sourceLocation) throws {
        if let reason = missing(capability) { try skip(reason, sourceLocation: sourceLocation) }
    }

    /// Whether the machine lacks `capability`; when it does, records (a warning) that `part` of
    /// the running test is skipped and why. The rest of the test runs and counts.
    static func lacks(_ capability: Capability, skipping part: String,
                      sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        guard let reason = missing(capability) else { return false }
        skipPart(part, because: reason, sourceLocation: sourceLocation)
        return true
    }

    /// Records (a warning) that `part` of the running test is skipped, and why; the rest of the
    /// test runs and counts.
    static func skipPart(_ part: String, because reason: String, sourceLocation: SourceLocation = #_sourceLocation) {
        Issue.record(Comment(rawValue: "skipped \(part): \(reason)"), severity: .warning, sourceLocation: sourceLocation)
    }

    /// The capabilities `ESOCK_TEST_ASSUME_MISSING` names.
    static let assumedMissing: Set<Capability> = {
        guard let raw = getenv("ESOCK_TEST_ASSUME_MISSING") else { return [] }
        var out: Set<Capability> = []
        for name in String(cString: raw).split(separator: ",") {
            let trimmed = String(name.filter { $0 != " " })
            if let c = Capability(rawValue: trimmed) {
                out.insert(c)
            } else {
                let known = Capability.allCases.map(\.rawValue).joined(separator: ", ")
                print("ESOCK_TEST_ASSUME_MISSING: no capability \(trimmed) (known: \(known))")
            }
        }
        return out
    }()

    /// The path of curl(1), found in PATH (or /usr/sbin, /sbin).
    static let curlPath = findExecutable("curl")

    // MARK: Probes

    /// The completion backend as the tests make it, started and shut down.
    private static let ioUringProbe: String? = {
        do {
            let ring = try CompletionBackend()
            ring.shutdown()
            return nil
        } catch {
            var reason = "io_uring cannot start: \(error)"
            if let setting = readSmallFile("/proc/sys/kernel/io_uring_disabled"), setting != "0" {
                reason += " (kernel.io_uring_disabled=\(setting))"
            }
            return reason
        }
    }()

    private static let ipv6Probe = socketProbe("socket(AF_INET6, SOCK_DGRAM)", AF_INET6, Int32(SOCK_DGRAM.rawValue), 0)

    private static let ipv6LoopbackProbe: String? = {
        let fd = socket(AF_INET6, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return "socket(AF_INET6): \(errnoName(errno))" }
        defer { close(fd) }
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        withUnsafeMutableBytes(of: &address.sin6_addr) { $0.copyBytes(from: IPv6Address.loopback.bytes) }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
        }
        return rc == 0 ? nil : "::1 is not on lo: bind([::1]:0): \(errnoName(errno))"
    }()

    /// IPV6_ADDRFORM (1) on a fresh, unconnected UDP socket: ENOTCONN where the kernel has it.
    private static let addrformProbe = optionProbe("IPV6_ADDRFORM", AF_INET6, Int32(IPPROTO_IPV6), 1, int32Bytes(AF_INET))

    /// SO_MARK (36).
    private static let markProbe = optionProbe("SO_MARK", AF_INET, SOL_SOCKET, 36, int32Bytes(7))

    /// SO_BINDTODEVICE (25) to lo.
    private static let bindToDeviceProbe = optionProbe("SO_BINDTODEVICE", AF_INET, SOL_SOCKET, 25, Array("lo\0".utf8))

    private static let sctpProbe = socketProbe("socket(AF_INET, SOCK_SEQPACKET, IPPROTO_SCTP)", AF_INET,
                                               Int32(SOCK_SEQPACKET.rawValue), 132)

    private static let rawProbe = socketProbe("socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)", AF_INET,
                                              Int32(SOCK_RAW.rawValue), Int32(IPPROTO_ICMP))

    private static let icmpEchoProbe: String? = {
        guard let setting = readSmallFile("/proc/sys/net/ipv4/icmp_echo_ignore_all"), setting != "0" else { return nil }
        return "the kernel ignores ICMP echo requests (net.ipv4.icmp_echo_ignore_all=\(setting))"
    }()

    /// AF_PACKET (17), SOCK_DGRAM, htons(ETH_P_IP).
    private static let packetProbe = socketProbe("socket(AF_PACKET, SOCK_DGRAM, ETH_P_IP)", 17,
                                                 Int32(SOCK_DGRAM.rawValue), Int32(UInt16(0x0800).bigEndian))

    /// A namespace made and deleted as the tests do.
    private static let netnsProbe: String? = {
        guard geteuid() == 0 else { return "not root (euid \(geteuid()))" }
        guard let probe = TestNamespace("esock-probe-\(getpid())") else { return "ip netns add failed (or no ip(8))" }
        probe.delete()
        return nil
    }()

    /// A namespace whose loopback drops a packet now and then, made and deleted as the lossy
    /// network tests do.
    private static let packetFilterProbe: String? = {
        guard findExecutable("nft") != nil else { return "no nft(8) (Debian's nftables)" }
        do {
            let probe = try LossyNamespace("esock-probe-nft-\(getpid())", match: "meta l4proto udp", every: 2)
            probe.delete()
            return nil
        } catch {
            return "an nftables rule in a namespace: \(error)"
        }
    }()

    /// unshare(CLONE_NEWNET) on a thread of its own, which ends with it.
    private static let unshareProbe: String? = {
        let result = Locked<Int32?>(nil)
        let done = Latch()
        Thread {
            result.withLock { $0 = esock_stress_unshare_net() }
            done.set()
        }.start()
        done.wait()
        let rc = result.withLock { $0 } ?? 0
        return rc == 0 ? nil : "unshare(CLONE_NEWNET): \(errnoName(-rc))"
    }()

    // MARK: Helpers

    /// Nil when a socket of this kind opens; else why not.
    private static func socketProbe(_ call: String, _ domain: Int32, _ type: Int32, _ proto: Int32) -> String? {
        let fd = socket(domain, type, proto)
        guard fd < 0 else { close(fd); return nil }
        return "\(call): \(errnoName(errno))"
    }

    /// Nil when the kernel takes `setsockopt(level, option)` on a fresh UDP socket of `domain` or
    /// refuses it only for the socket's state; else why it refuses (unknown option, no privilege).
    private static func optionProbe(_ name: String, _ domain: Int32, _ level: Int32, _ option: Int32,
                                    _ value: [UInt8]) -> String? {
        let fd = socket(domain, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return "socket for \(name): \(errnoName(errno))" }
        defer { close(fd) }
        let rc = value.withUnsafeBytes { setsockopt(fd, level, option, $0.baseAddress, socklen_t($0.count)) }
        let e = errno
        guard rc != 0, [EPERM, EACCES, ENOPROTOOPT, EOPNOTSUPP].contains(e) else { return nil }
        return "the kernel refuses \(name): \(errnoName(e))"
    }

    private static func int32Bytes(_ v: Int32) -> [UInt8] { withUnsafeBytes(of: v) { Array($0) } }

    /// The first line of a small file (a sysctl), or nil when it cannot be read.
    private static func readSmallFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = read(fd, &buffer, buffer.count)
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n], as: UTF8.self).split(separator: "\n").first.map(String.init)
    }

    /// An errno as its name (for the ones a probe meets) and text.
    static func errnoName(_ e: Int32) -> String {
        let names: [Int32: String] = [EPERM: "EPERM", EACCES: "EACCES", ENOENT: "ENOENT", ENOPROTOOPT: "ENOPROTOOPT",
                                      EOPNOTSUPP: "EOPNOTSUPP", EAFNOSUPPORT: "EAFNOSUPPORT",
                                      EPROTONOSUPPORT: "EPROTONOSUPPORT", ESOCKTNOSUPPORT: "ESOCKTNOSUPPORT",
                                      EADDRNOTAVAIL: "EADDRNOTAVAIL", EINVAL: "EINVAL", ENOSYS: "ENOSYS"]
        return "\(names[e] ?? "errno \(e)") (\(String(cString: strerror(e))))"
    }
}

extension Trait where Self == ConditionTrait {
    /// Runs the test only where the machine has `capability`; elsewhere it is skipped with the
    /// need as the reason (`.enabled(if:)`). The probe runs when the test is about to run.
    static func requires(_ capability: Machine.Capability) -> Self {
        .enabled(if: Machine.has(capability), Comment(rawValue: "needs \(capability)"))
    }
}
