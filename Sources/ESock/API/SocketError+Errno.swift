#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemPackage

extension SocketError {
    /// An operating-system error number (`errno`), kept as it came from the kernel: the `posix()`
    /// reasons of Erlang's `{error, Reason}`.
    ///
    /// The static values (``resourceTemporarilyUnavailable``, ``connectionReset``, ...) have the
    /// names of swift-system's `Errno`, and the two types convert into each other
    /// (``init(_:)``, ``systemErrno``). ``name`` spells the error as OTP does on Linux.
    public struct Errno: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        /// The C `errno` value.
        public let rawValue: Int32

        /// The error with the C value `rawValue`.
        public init(rawValue: Int32) { self.rawValue = rawValue }

        /// The same error as swift-system's `Errno` (its value as it is).
        public init(_ errno: SystemPackage.Errno) { self.init(rawValue: errno.rawValue) }

        /// The same error as swift-system's `Errno`, for the APIs of `SystemPackage`.
        public var systemErrno: SystemPackage.Errno { SystemPackage.Errno(rawValue: rawValue) }

        /// The error as OTP's socket NIF reports it on Linux (`esock_errno_to_term`, which names
        /// errors with `erl_errno_id`): the C name in lower case (`econnreset`), with the
        /// spellings OTP chooses where Linux gives one number two names (`eagain` for
        /// `EWOULDBLOCK`, `enotsup` for `EOPNOTSUPP`, `edeadlk` for `EDEADLOCK`). For the errors
        /// OTP has no atom for (`ECANCELED`, `EOWNERDEAD`, `EKEYEXPIRED`, ...) it reports the
        /// integer, and so this is the number in decimal (`"125"`).
        public var name: String {
            otpErrnoNames[rawValue] ?? String(rawValue)
        }

        /// ``name`` and the C library's text for the error (strerror(3)).
        public var description: String {
            "\(name) (\(String(cString: strerror(rawValue))))"
        }
    }
}
