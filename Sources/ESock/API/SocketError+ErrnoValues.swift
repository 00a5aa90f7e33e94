#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension SocketError.Errno {
    // The values have swift-system's names (its `Errno`, Linux's part of it). The text after
    // the C name is strerror(3)'s; the Erlang atom is ``name``'s.

    /// `EPERM`: operation not permitted (Erlang: `eperm`).
    public static var notPermitted: Self { Self(rawValue: EPERM) }
    /// `ENOENT`: no such file or directory (Erlang: `enoent`).
    public static var noSuchFileOrDirectory: Self { Self(rawValue: ENOENT) }
    /// `ESRCH`: no such process (Erlang: `esrch`).
    public static var noSuchProcess: Self { Self(rawValue: ESRCH) }
    /// `EINTR`: interrupted system call (Erlang: `eintr`).
    public static var interrupted: Self { Self(rawValue: EINTR) }
    /// `EIO`: input/output error (Erlang: `eio`).
    public static var ioError: Self { Self(rawValue: EIO) }
    /// `ENXIO`: no such device or address (Erlang: `enxio`).
    public static var noSuchAddressOrDevice: Self { Self(rawValue: ENXIO) }
    /// `E2BIG`: argument list too long (Erlang: `e2big`).
    public static var argListTooLong: Self { Self(rawValue: E2BIG) }
    /// `ENOEXEC`: exec format error (Erlang: `enoexec`).
    public static var execFormatError: Self { Self(rawValue: ENOEXEC) }
    /// `EBADF`: bad file descriptor (Erlang: `ebadf`).
    public static var badFileDescriptor: Self { Self(rawValue: EBADF) }
    /// `ECHILD`: no child processes (Erlang: `echild`).
    public static var noChildProcess: Self { Self(rawValue: ECHILD) }
    /// `EDEADLK`: resource deadlock avoided (Erlang: `edeadlk`).
    public static var deadlock: Self { Self(rawValue: EDEADLK) }
    /// `ENOMEM`: cannot allocate memory (Erlang: `enomem`).
    public static var noMemory: Self { Self(rawValue: ENOMEM) }
    /// `EACCES`: permission denied (Erlang: `eacces`).
    public static var permissionDenied: Self { Self(rawValue: EACCES) }
    /// `EFAULT`: bad address (Erlang: `efault`).
    public static var badAddress: Self { Self(rawValue: EFAULT) }
    /// `ENOTBLK`: block device required (Erlang: `enotblk`).
    public static var notBlockDevice: Self { Self(rawValue: ENOTBLK) }
    /// `EBUSY`: device or resource busy (Erlang: `ebusy`).
    public static var resourceBusy: Self { Self(rawValue: EBUSY) }
    /// `EEXIST`: file exists (Erlang: `eexist`).
    public static var fileExists: Self { Self(rawValue: EEXIST) }
    /// `EXDEV`: invalid cross-device link (Erlang: `exdev`).
    public static var improperLink: Self { Self(rawValue: EXDEV) }
    /// `ENODEV`: no such device (Erlang: `enodev`).
    public static var operationNotSupportedByDevice: Self { Self(rawValue: ENODEV) }
    /// `ENOTDIR`: not a directory (Erlang: `enotdir`).
    public static var notDirectory: Self { Self(rawValue: ENOTDIR) }
    /// `EISDIR`: is a directory (Erlang: `eisdir`).
    public static var isDirectory: Self { Self(rawValue: EISDIR) }
    /// `EINVAL`: invalid argument (Erlang: `einval`).
    public static var invalidArgument: Self { Self(rawValue: EINVAL) }
    /// `ENFILE`: too many open files in system (Erlang: `enfile`).
    public static var tooManyOpenFilesInSystem: Self { Self(rawValue: ENFILE) }
    /// `EMFILE`: too many open files (Erlang: `emfile`).
    public static var tooManyOpenFiles: Self { Self(rawValue: EMFILE) }
    /// `ENOTTY`: inappropriate ioctl for device (Erlang: `enotty`).
    public static var inappropriateIOCTLForDevice: Self { Self(rawValue: ENOTTY) }
    /// `ETXTBSY`: text file busy (Erlang: `etxtbsy`).
    public static var textFileBusy: Self { Self(rawValue: ETXTBSY) }
    /// `EFBIG`: file too large (Erlang: `efbig`).
    public static var fileTooLarge: Self { Self(rawValue: EFBIG) }
    /// `ENOSPC`: no space left on device (Erlang: `enospc`).
    public static var noSpace: Self { Self(rawValue: ENOSPC) }
    /// `ESPIPE`: illegal seek (Erlang: `espipe`).
    public static var illegalSeek: Self { Self(rawValue: ESPIPE) }
    /// `EROFS`: read-only file system (Erlang: `erofs`).
    public static var readOnlyFileSystem: Self { Self(rawValue: EROFS) }
    /// `EMLINK`: too many links (Erlang: `emlink`).
    public static var tooManyLinks: Self { Self(rawValue: EMLINK) }
    /// `EPIPE`: broken pipe (Erlang: `epipe`).
    public static var brokenPipe: Self { Self(rawValue: EPIPE) }
    /// `EDOM`: numerical argument out of domain (Erlang: `edom`).
    public static var outOfDomain: Self { Self(rawValue: EDOM) }
    /// `ERANGE`: numerical result out of range (Erlang: `erange`).
    public static var outOfRange: Self { Self(rawValue: ERANGE) }
    /// `EAGAIN`: resource temporarily unavailable (Erlang: `eagain`).
    public static var resourceTemporarilyUnavailable: Self { Self(rawValue: EAGAIN) }
    /// `EINPROGRESS`: operation now in progress (Erlang: `einprogress`).
    public static var nowInProgress: Self { Self(rawValue: EINPROGRESS) }
    /// `EALREADY`: operation already in progress (Erlang: `ealready`).
    public static var alreadyInProcess: Self { Self(rawValue: EALREADY) }
    /// `ENOTSOCK`: socket operation on non-socket (Erlang: `enotsock`).
    public static var notSocket: Self { Self(rawValue: ENOTSOCK) }
    /// `EDESTADDRREQ`: destination address required (Erlang: `edestaddrreq`).
    public static var addressRequired: Self { Self(rawValue: EDESTADDRREQ) }
    /// `EMSGSIZE`: message too long (Erlang: `emsgsize`).
    public static var messageTooLong: Self { Self(rawValue: EMSGSIZE) }
    /// `EPROTOTYPE`: protocol wrong type for socket (Erlang: `eprototype`).
    public static var protocolWrongTypeForSocket: Self { Self(rawValue: EPROTOTYPE) }
    /// `ENOPROTOOPT`: protocol not available (Erlang: `enoprotoopt`).
    public static var protocolNotAvailable: Self { Self(rawValue: ENOPROTOOPT) }
    /// `EPROTONOSUPPORT`: protocol not supported (Erlang: `eprotonosupport`).
    public static var protocolNotSupported: Self { Self(rawValue: EPROTONOSUPPORT) }
    /// `ESOCKTNOSUPPORT`: socket type not supported (Erlang: `esocktnosupport`).
    public static var socketTypeNotSupported: Self { Self(rawValue: ESOCKTNOSUPPORT) }
    /// `ENOTSUP`: operation not supported (Erlang: `enotsup`).
    public static var notSupported: Self { Self(rawValue: ENOTSUP) }
    /// `EPFNOSUPPORT`: protocol family not supported (Erlang: `epfnosupport`).
    public static var protocolFamilyNotSupported: Self { Self(rawValue: EPFNOSUPPORT) }
    /// `EAFNOSUPPORT`: address family not supported by protocol (Erlang: `eafnosupport`).
    public static var addressFamilyNotSupported: Self { Self(rawValue: EAFNOSUPPORT) }
    /// `EADDRINUSE`: address already in use (Erlang: `eaddrinuse`).
    public static var addressInUse: Self { Self(rawValue: EADDRINUSE) }
    /// `EADDRNOTAVAIL`: cannot assign requested address (Erlang: `eaddrnotavail`).
    public static var addressNotAvailable: Self { Self(rawValue: EADDRNOTAVAIL) }
    /// `ENETDOWN`: network is down (Erlang: `enetdown`).
    public static var networkDown: Self { Self(rawValue: ENETDOWN) }
    /// `ENETUNREACH`: network is unreachable (Erlang: `enetunreach`).
    public static var networkUnreachable: Self { Self(rawValue: ENETUNREACH) }
    /// `ENETRESET`: network dropped connection on reset (Erlang: `enetreset`).
    public static var networkReset: Self { Self(rawValue: ENETRESET) }
    /// `ECONNABORTED`: software caused connection abort (Erlang: `econnaborted`).
    public static var connectionAbort: Self { Self(rawValue: ECONNABORTED) }
    /// `ECONNRESET`: connection reset by peer (Erlang: `econnreset`).
    public static var connectionReset: Self { Self(rawValue: ECONNRESET) }
    /// `ENOBUFS`: no buffer space available (Erlang: `enobufs`).
    public static var noBufferSpace: Self { Self(rawValue: ENOBUFS) }
    /// `EISCONN`: transport endpoint is already connected (Erlang: `eisconn`).
    public static var socketIsConnected: Self { Self(rawValue: EISCONN) }
    /// `ENOTCONN`: transport endpoint is not connected (Erlang: `enotconn`).
    public static var socketNotConnected: Self { Self(rawValue: ENOTCONN) }
    /// `ESHUTDOWN`: cannot send after transport endpoint shutdown (Erlang: `eshutdown`).
    public static var socketShutdown: Self { Self(rawValue: ESHUTDOWN) }
    /// `ETIMEDOUT`: connection timed out (Erlang: `etimedout`).
    public static var timedOut: Self { Self(rawValue: ETIMEDOUT) }
    /// `ECONNREFUSED`: connection refused (Erlang: `econnrefused`).
    public static var connectionRefused: Self { Self(rawValue: ECONNREFUSED) }
    /// `ELOOP`: too many levels of symbolic links (Erlang: `eloop`).
    public static var tooManySymbolicLinkLevels: Self { Self(rawValue: ELOOP) }
    /// `ENAMETOOLONG`: file name too long (Erlang: `enametoolong`).
    public static var fileNameTooLong: Self { Self(rawValue: ENAMETOOLONG) }
    /// `EHOSTDOWN`: host is down (Erlang: `ehostdown`).
    public static var hostIsDown: Self { Self(rawValue: EHOSTDOWN) }
    /// `EHOSTUNREACH`: no route to host (Erlang: `ehostunreach`).
    public static var noRouteToHost: Self { Self(rawValue: EHOSTUNREACH) }
    /// `ENOTEMPTY`: directory not empty (Erlang: `enotempty`).
    public static var directoryNotEmpty: Self { Self(rawValue: ENOTEMPTY) }
    /// `EUSERS`: too many users (Erlang: `eusers`).
    public static var tooManyUsers: Self { Self(rawValue: EUSERS) }
    /// `EDQUOT`: disk quota exceeded (Erlang: `edquot`).
    public static var diskQuotaExceeded: Self { Self(rawValue: EDQUOT) }
    /// `ESTALE`: stale file handle (Erlang: `estale`).
    public static var staleNFSFileHandle: Self { Self(rawValue: ESTALE) }
    /// `ENOLCK`: no locks available (Erlang: `enolck`).
    public static var noLocks: Self { Self(rawValue: ENOLCK) }
    /// `ENOSYS`: function not implemented (Erlang: `enosys`).
    public static var noFunction: Self { Self(rawValue: ENOSYS) }
    /// `EOVERFLOW`: value too large for defined data type (Erlang: `eoverflow`).
    public static var overflow: Self { Self(rawValue: EOVERFLOW) }
    /// `ECANCELED`: operation canceled (OTP has no atom for it and reports the integer).
    public static var canceled: Self { Self(rawValue: ECANCELED) }
    /// `EIDRM`: identifier removed (Erlang: `eidrm`).
    public static var identifierRemoved: Self { Self(rawValue: EIDRM) }
    /// `ENOMSG`: no message of desired type (Erlang: `enomsg`).
    public static var noMessage: Self { Self(rawValue: ENOMSG) }
    /// `EILSEQ`: invalid or incomplete multibyte or wide character (Erlang: `eilseq`).
    public static var illegalByteSequence: Self { Self(rawValue: EILSEQ) }
    /// `EBADMSG`: bad message (Erlang: `ebadmsg`).
    public static var badMessage: Self { Self(rawValue: EBADMSG) }
    /// `EMULTIHOP`: multihop attempted (Erlang: `emultihop`).
    public static var multiHop: Self { Self(rawValue: EMULTIHOP) }
    /// `ENODATA`: no data available (Erlang: `enodata`).
    public static var noData: Self { Self(rawValue: ENODATA) }
    /// `ENOLINK`: link has been severed (Erlang: `enolink`).
    public static var noLink: Self { Self(rawValue: ENOLINK) }
    /// `ENOSR`: out of streams resources (Erlang: `enosr`).
    public static var noStreamResources: Self { Self(rawValue: ENOSR) }
    /// `ENOSTR`: device not a stream (Erlang: `enostr`).
    public static var notStream: Self { Self(rawValue: ENOSTR) }
    /// `EPROTO`: protocol error (Erlang: `eproto`).
    public static var protocolError: Self { Self(rawValue: EPROTO) }
    /// `ETIME`: timer expired (Erlang: `etime`).
    public static var timeout: Self { Self(rawValue: ETIME) }
    /// `EOPNOTSUPP`: operation not supported (Erlang: `enotsup`).
    public static var notSupportedOnSocket: Self { Self(rawValue: EOPNOTSUPP) }
    /// `EWOULDBLOCK`: resource temporarily unavailable (Erlang: `eagain`).
    public static var wouldBlock: Self { Self(rawValue: EWOULDBLOCK) }
    /// `ETOOMANYREFS`: too many references: cannot splice (Erlang: `etoomanyrefs`).
    public static var tooManyReferences: Self { Self(rawValue: ETOOMANYREFS) }
    /// `EREMOTE`: object is remote (Erlang: `eremote`).
    public static var tooManyRemoteLevels: Self { Self(rawValue: EREMOTE) }
    /// `ENOTRECOVERABLE`: state not recoverable (OTP has no atom for it and reports the integer).
    public static var notRecoverable: Self { Self(rawValue: ENOTRECOVERABLE) }
    /// `EOWNERDEAD`: owner died (OTP has no atom for it and reports the integer).
    public static var previousOwnerDied: Self { Self(rawValue: EOWNERDEAD) }
}
