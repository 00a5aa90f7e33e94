@testable import ESock
import SystemPackage
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// errno values: their names as OTP spells them on Linux (issue 12), and their conversions to
/// and from swift-system's `Errno` (issue 15).
@Suite(.leakChecked) struct ErrnoTests {
    /// What OTP's socket NIF reports for each errno Linux has (erl_errno_id on Linux, through
    /// esock_errno_to_term): the atom, or the integer for errors OTP has no atom for.
    static let otpNames = """
        1 eperm 2 enoent 3 esrch 4 eintr 5 eio 6 enxio 7 e2big 8 enoexec 9 ebadf 10 echild 11 eagain
        12 enomem 13 eacces 14 efault 15 enotblk 16 ebusy 17 eexist 18 exdev 19 enodev 20 enotdir
        21 eisdir 22 einval 23 enfile 24 emfile 25 enotty 26 etxtbsy 27 efbig 28 enospc 29 espipe
        30 erofs 31 emlink 32 epipe 33 edom 34 erange 35 edeadlk 36 enametoolong 37 enolck 38 enosys
        39 enotempty 40 eloop 41 41 42 enomsg 43 eidrm 44 echrng 45 el2nsync 46 el3hlt 47 el3rst
        48 elnrng 49 eunatch 50 enocsi 51 el2hlt 52 ebade 53 ebadr 54 exfull 55 enoano 56 ebadrqc
        57 ebadslt 58 58 59 ebfont 60 enostr 61 enodata 62 etime 63 enosr 64 enonet 65 enopkg 66 eremote
        67 enolink 68 eadv 69 esrmnt 70 ecomm 71 eproto 72 emultihop 73 edotdot 74 ebadmsg 75 eoverflow
        76 enotuniq 77 ebadfd 78 eremchg 79 elibacc 80 elibbad 81 elibscn 82 elibmax 83 elibexec
        84 eilseq 85 85 86 86 87 eusers 88 enotsock 89 edestaddrreq 90 emsgsize 91 eprototype
        92 enoprotoopt 93 eprotonosupport 94 esocktnosupport 95 enotsup 96 epfnosupport 97 eafnosupport
        98 eaddrinuse 99 eaddrnotavail 100 enetdown 101 enetunreach 102 enetreset 103 econnaborted
        104 econnreset 105 enobufs 106 eisconn 107 enotconn 108 eshutdown 109 etoomanyrefs 110 etimedout
        111 econnrefused 112 ehostdown 113 ehostunreach 114 ealready 115 einprogress 116 estale
        117 euclean 118 enotnam 119 enavail 120 120 121 eremoteio 122 edquot 123 123 124 124 125 125
        126 126 127 127 128 128 129 129 130 130 131 131 132 132 133 133
        """

    @Test func namesAreOTPs() {
        let words = Self.otpNames.split(whereSeparator: \.isWhitespace)
        #expect(words.count == 2 * 133)
        for i in stride(from: 0, to: words.count - 1, by: 2) {
            let value = Int32(words[i]) ?? 0
            #expect(SocketError.Errno(rawValue: value).name == String(words[i + 1]), "errno \(value)")
        }
        // Linux's second names for the same numbers take OTP's first ones.
        #expect(SocketError.Errno(rawValue: EOPNOTSUPP).name == "enotsup")
        #expect(SocketError.Errno(rawValue: EWOULDBLOCK).name == "eagain")
        #expect(SocketError.Errno(rawValue: EDEADLOCK).name == "edeadlk")
        // Outside the table: the number, as OTP gives it.
        #expect(SocketError.Errno(rawValue: 0).name == "0" && SocketError.Errno(rawValue: -3).name == "-3")
        #expect(SocketError.Errno(rawValue: 4096).name == "4096")
        #expect(SocketError.Errno.canceled.description == "125 (Operation canceled)")
        #expect(SocketError.Errno.connectionReset.description == "econnreset (Connection reset by peer)")
    }

    @Test("a UDP socket refuses listen, accept and TCP options with enotsup", arguments: Backend.allCases)
    func udpRefusesStreamCalls(_ backend: Backend) async throws {
        let u = try Socket.open(.inet, .dgram, .udp, backend: backend.instance())
        defer { try? u.close() }
        try u.bind(.loopback(port: 0))
        func enotsup(_ what: String, _ body: () throws -> Void) {
            do {
                try body()
                Issue.record("\(what) succeeded on UDP")
            } catch let error as SocketError {
                #expect(error.reason == .posix(.notSupported) && error.errno?.name == "enotsup", "\(what): \(error)")
            } catch {
                Issue.record("\(what): \(error)")
            }
        }
        enotsup("listen") { try u.listen() }
        enotsup("accept") { _ = try u.accept(timeout: .seconds(5)) }
        enotsup("accept nowait") { _ = try u.accept(nowait: Mailbox()) }
        enotsup("getopt tcp nodelay") { _ = try u.getopt(.tcp(.nodelay)) }
        do {
            _ = try await u.accept()
            Issue.record("async accept succeeded on UDP")
        } catch {
            #expect(error.errno == .notSupportedOnSocket && error.errno?.name == "enotsup", "\(error)")
        }
    }

    @Test func valuesHaveSwiftSystemsNames() {
        let pairs: [(SocketError.Errno, SystemPackage.Errno)] = [
            (.notPermitted, .notPermitted), (.noSuchFileOrDirectory, .noSuchFileOrDirectory),
            (.noSuchProcess, .noSuchProcess), (.interrupted, .interrupted), (.ioError, .ioError),
            (.noSuchAddressOrDevice, .noSuchAddressOrDevice), (.argListTooLong, .argListTooLong),
            (.execFormatError, .execFormatError), (.badFileDescriptor, .badFileDescriptor),
            (.noChildProcess, .noChildProcess), (.deadlock, .deadlock), (.noMemory, .noMemory),
            (.permissionDenied, .permissionDenied), (.badAddress, .badAddress),
            (.notBlockDevice, .notBlockDevice), (.resourceBusy, .resourceBusy), (.fileExists, .fileExists),
            (.improperLink, .improperLink), (.operationNotSupportedByDevice, .operationNotSupportedByDevice),
            (.notDirectory, .notDirectory), (.isDirectory, .isDirectory), (.invalidArgument, .invalidArgument),
            (.tooManyOpenFilesInSystem, .tooManyOpenFilesInSystem), (.tooManyOpenFiles, .tooManyOpenFiles),
            (.inappropriateIOCTLForDevice, .inappropriateIOCTLForDevice), (.textFileBusy, .textFileBusy),
            (.fileTooLarge, .fileTooLarge), (.noSpace, .noSpace), (.illegalSeek, .illegalSeek),
            (.readOnlyFileSystem, .readOnlyFileSystem), (.tooManyLinks, .tooManyLinks),
            (.brokenPipe, .brokenPipe), (.outOfDomain, .outOfDomain), (.outOfRange, .outOfRange),
            (.resourceTemporarilyUnavailable, .resourceTemporarilyUnavailable),
            (.nowInProgress, .nowInProgress), (.alreadyInProcess, .alreadyInProcess), (.notSocket, .notSocket),
            (.addressRequired, .addressRequired), (.messageTooLong, .messageTooLong),
            (.protocolWrongTypeForSocket, .protocolWrongTypeForSocket),
            (.protocolNotAvailable, .protocolNotAvailable), (.protocolNotSupported, .protocolNotSupported),
            (.socketTypeNotSupported, .socketTypeNotSupported), (.notSupported, .notSupported),
            (.protocolFamilyNotSupported, .protocolFamilyNotSupported),
            (.addressFamilyNotSupported, .addressFamilyNotSupported), (.addressInUse, .addressInUse),
            (.addressNotAvailable, .addressNotAvailable), (.networkDown, .networkDown),
            (.networkUnreachable, .networkUnreachable), (.networkReset, .networkReset),
            (.connectionAbort, .connectionAbort), (.connectionReset, .connectionReset),
            (.noBufferSpace, .noBufferSpace), (.socketIsConnected, .socketIsConnected),
            (.socketNotConnected, .socketNotConnected), (.socketShutdown, .socketShutdown),
            (.timedOut, .timedOut), (.connectionRefused, .connectionRefused),
            (.tooManySymbolicLinkLevels, .tooManySymbolicLinkLevels), (.fileNameTooLong, .fileNameTooLong),
            (.hostIsDown, .hostIsDown), (.noRouteToHost, .noRouteToHost),
            (.directoryNotEmpty, .directoryNotEmpty), (.tooManyUsers, .tooManyUsers),
            (.diskQuotaExceeded, .diskQuotaExceeded), (.staleNFSFileHandle, .staleNFSFileHandle),
            (.noLocks, .noLocks), (.noFunction, .noFunction), (.overflow, .overflow), (.canceled, .canceled),
            (.identifierRemoved, .identifierRemoved), (.noMessage, .noMessage),
            (.illegalByteSequence, .illegalByteSequence), (.badMessage, .badMessage), (.multiHop, .multiHop),
            (.noData, .noData), (.noLink, .noLink), (.noStreamResources, .noStreamResources),
            (.notStream, .notStream), (.protocolError, .protocolError), (.timeout, .timeout),
            (.notSupportedOnSocket, .notSupportedOnSocket), (.wouldBlock, .wouldBlock),
            (.tooManyReferences, .tooManyReferences), (.tooManyRemoteLevels, .tooManyRemoteLevels),
            (.notRecoverable, .notRecoverable), (.previousOwnerDied, .previousOwnerDied),
        ]
        #expect(pairs.count == 89)
        for (ours, theirs) in pairs {
            #expect(ours.rawValue == theirs.rawValue, "\(ours)")
            #expect(ours.systemErrno == theirs && SocketError.Errno(theirs) == ours, "\(ours)")
        }
    }

    @Test func convertsToAndFromSwiftSystem() {
        for value in Int32(0)...200 {
            let ours = SocketError.Errno(rawValue: value)
            #expect(SocketError.Errno(ours.systemErrno) == ours)
            #expect(SocketError.Errno(SystemPackage.Errno(rawValue: value)).systemErrno.rawValue == value)
        }
        #expect(SocketError.Errno(.resourceTemporarilyUnavailable) == .resourceTemporarilyUnavailable)
        #expect(SocketError.Errno.nowInProgress.systemErrno == .nowInProgress)
    }

    @Test("errors from the kernel convert to swift-system's Errno", arguments: Backend.allCases)
    func kernelErrorsConvert(_ backend: Backend) throws {
        // A port nobody listens on: bind one, keep it unlistened.
        let closedPort = try Socket.open(.inet, .stream, .tcp, backend: backend.instance())
        defer { try? closedPort.close() }
        try closedPort.bind(.loopback(port: 0))
        let c = try Socket.open(.inet, .stream, .tcp, backend: backend.instance())
        defer { try? c.close() }
        do {
            try c.connect(closedPort.sockname(), timeout: .seconds(5))
            Issue.record("connect to an unlistened port succeeded")
        } catch {
            let errno = try #require(error.errno)
            #expect(errno.systemErrno == .connectionRefused && errno == .connectionRefused && errno.name == "econnrefused")
            #expect(SocketError.Errno(errno.systemErrno) == errno)
        }
    }
}
