#if canImport(Glibc)
import Glibc
#endif

/// A protocol domain: Erlang's `domain()` (`AF_*`). Other families are given by number.
public enum Domain: Sendable, Hashable, CustomStringConvertible {
    case inet, inet6, local, unspec
    /// Linux packet sockets (`AF_PACKET`): Erlang's `packet`.
    case packet
    /// Any other address family, by its number.
    case native(Int32)

    var rawValue: Int32 {
        switch self {
        case .inet: return AF_INET
        case .inet6: return AF_INET6
        case .local: return AF_UNIX
        case .unspec: return AF_UNSPEC
        case .packet: return AF_PACKET
        case .native(let n): return n
        }
    }

    init(rawValue: Int32) {
        switch rawValue {
        case AF_PACKET: self = .packet
        case AF_INET: self = .inet
        case AF_INET6: self = .inet6
        case AF_UNIX: self = .local
        case AF_UNSPEC: self = .unspec
        default: self = .native(rawValue)
        }
    }

    public var description: String {
        switch self {
        case .inet: return "inet"
        case .inet6: return "inet6"
        case .local: return "local"
        case .unspec: return "unspec"
        case .packet: return "packet"
        case .native(let n): return "\(n)"
        }
    }
}

/// A socket type: Erlang's `type()` (`SOCK_*`).
public enum SocketType: Sendable, Hashable, CustomStringConvertible {
    case stream, dgram, raw, rdm, seqpacket
    /// Any other type, by its number.
    case native(Int32)

    var rawValue: Int32 {
        switch self {
        case .stream: return Int32(SOCK_STREAM.rawValue)
        case .dgram: return Int32(SOCK_DGRAM.rawValue)
        case .raw: return Int32(SOCK_RAW.rawValue)
        case .rdm: return Int32(SOCK_RDM.rawValue)
        case .seqpacket: return Int32(SOCK_SEQPACKET.rawValue)
        case .native(let n): return n
        }
    }

    init(rawValue: Int32) {
        switch rawValue {
        case Int32(SOCK_STREAM.rawValue): self = .stream
        case Int32(SOCK_DGRAM.rawValue): self = .dgram
        case Int32(SOCK_RAW.rawValue): self = .raw
        case Int32(SOCK_RDM.rawValue): self = .rdm
        case Int32(SOCK_SEQPACKET.rawValue): self = .seqpacket
        default: self = .native(rawValue)
        }
    }

    public var description: String {
        switch self {
        case .stream: return "stream"
        case .dgram: return "dgram"
        case .raw: return "raw"
        case .rdm: return "rdm"
        case .seqpacket: return "seqpacket"
        case .native(let n): return "\(n)"
        }
    }
}

/// A protocol: Erlang's `protocol()`. `.default` lets the kernel choose (protocol number 0).
public enum SocketProtocol: Sendable, Hashable, CustomStringConvertible {
    case `default`, ip, ipv6, tcp, udp, sctp
    /// Any other protocol, by its number.
    case native(Int32)

    var rawValue: Int32 {
        switch self {
        case .default: return 0
        case .ip: return Int32(IPPROTO_IP)
        case .ipv6: return Int32(IPPROTO_IPV6)
        case .tcp: return Int32(IPPROTO_TCP)
        case .udp: return Int32(IPPROTO_UDP)
        case .sctp: return Int32(IPPROTO_SCTP)
        case .native(let n): return n
        }
    }

    init(rawValue: Int32) {
        switch rawValue {
        case Int32(IPPROTO_TCP): self = .tcp
        case Int32(IPPROTO_UDP): self = .udp
        case Int32(IPPROTO_SCTP): self = .sctp
        case Int32(IPPROTO_IPV6): self = .ipv6
        default: self = rawValue == 0 ? .default : .native(rawValue)
        }
    }

    public var description: String {
        switch self {
        case .default: return "default"
        case .ip: return "ip"
        case .ipv6: return "ipv6"
        case .tcp: return "tcp"
        case .udp: return "udp"
        case .sctp: return "sctp"
        case .native(let n): return "\(n)"
        }
    }
}

/// Message flags for send and receive calls: Erlang's `msg_flag()` list, or:ed together.
///
/// Received flags (``Msg/flags``) show as Erlang lists them: the known flags by name, and unknown
/// bits, if any, as one integer last (``names``, ``unknown``, ``description``).
public struct MessageFlags: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let cmsgCloexec = MessageFlags(rawValue: Int32(MSG_CMSG_CLOEXEC))
    public static let confirm = MessageFlags(rawValue: Int32(MSG_CONFIRM))
    public static let ctrunc = MessageFlags(rawValue: Int32(MSG_CTRUNC))
    public static let dontroute = MessageFlags(rawValue: Int32(MSG_DONTROUTE))
    public static let eor = MessageFlags(rawValue: Int32(MSG_EOR))
    public static let errqueue = MessageFlags(rawValue: Int32(MSG_ERRQUEUE))
    public static let more = MessageFlags(rawValue: Int32(MSG_MORE))
    public static let oob = MessageFlags(rawValue: Int32(MSG_OOB))
    public static let peek = MessageFlags(rawValue: Int32(MSG_PEEK))
    public static let trunc = MessageFlags(rawValue: Int32(MSG_TRUNC))

    /// Every flag with a name, in Erlang's order.
    public static let named: [(name: String, flag: MessageFlags)] = [
        ("cmsg_cloexec", .cmsgCloexec), ("confirm", .confirm), ("ctrunc", .ctrunc), ("dontroute", .dontroute),
        ("eor", .eor), ("errqueue", .errqueue), ("more", .more), ("oob", .oob), ("peek", .peek), ("trunc", .trunc),
    ]

    /// The names of the flags set (Erlang's `msg_flag()` atoms).
    public var names: [String] { Self.named.filter { contains($0.flag) }.map(\.name) }

    /// The bits set that have no name; 0 when there are none.
    public var unknown: Int32 {
        Self.named.reduce(rawValue) { $0 & ~$1.flag.rawValue }
    }

    /// Erlang's list form: `[trunc, ctrunc, 64]`.
    public var description: String {
        "[" + (names + (unknown == 0 ? [] : ["\(unknown)"])).joined(separator: ", ") + "]"
    }
}

/// Which direction `shutdown` closes: Erlang's `read | write | read_write`.
public enum ShutdownHow: Sendable, Hashable {
    case read, write, readWrite

    var rawValue: Int32 {
        switch self {
        case .read: return Int32(SHUT_RD)
        case .write: return Int32(SHUT_WR)
        case .readWrite: return Int32(SHUT_RDWR)
        }
    }
}
