/// A socket's statistics counters: Erlang's `socket_counters()`.
///
/// `read_*` count receive calls, `write_*` send calls, `acc_*` accepts and `sendfile_*` sendfile
/// calls: tries (attempts at the kernel call), waits (times the operation had to wait: a select
/// or completion answer), fails, packages (successful calls), bytes and the largest package.
public struct SocketCounters: Sendable, Hashable {
    public var readByte: UInt64 = 0, readFails: UInt64 = 0, readPkg: UInt64 = 0, readPkgMax: UInt64 = 0
    public var readTries: UInt64 = 0, readWaits: UInt64 = 0
    public var writeByte: UInt64 = 0, writeFails: UInt64 = 0, writePkg: UInt64 = 0, writePkgMax: UInt64 = 0
    public var writeTries: UInt64 = 0, writeWaits: UInt64 = 0
    public var sendfile: UInt64 = 0, sendfileByte: UInt64 = 0, sendfileFails: UInt64 = 0, sendfileMax: UInt64 = 0
    public var sendfilePkg: UInt64 = 0, sendfilePkgMax: UInt64 = 0, sendfileTries: UInt64 = 0, sendfileWaits: UInt64 = 0
    public var accSuccess: UInt64 = 0, accFails: UInt64 = 0, accTries: UInt64 = 0, accWaits: UInt64 = 0

    /// The counters as Erlang names them (`read_byte`, `acc_success`, ...).
    public var asDictionary: [String: UInt64] {
        [
            "read_byte": readByte, "read_fails": readFails, "read_pkg": readPkg, "read_pkg_max": readPkgMax,
            "read_tries": readTries, "read_waits": readWaits,
            "write_byte": writeByte, "write_fails": writeFails, "write_pkg": writePkg,
            "write_pkg_max": writePkgMax, "write_tries": writeTries, "write_waits": writeWaits,
            "sendfile": sendfile, "sendfile_byte": sendfileByte, "sendfile_fails": sendfileFails,
            "sendfile_max": sendfileMax, "sendfile_pkg": sendfilePkg, "sendfile_pkg_max": sendfilePkgMax,
            "sendfile_tries": sendfileTries, "sendfile_waits": sendfileWaits,
            "acc_success": accSuccess, "acc_fails": accFails, "acc_tries": accTries, "acc_waits": accWaits,
        ]
    }

    /// The Erlang names of the counters that wrapped (went below their old value) between `old`
    /// and `new`: what `{otp, iow}` reports with `counter_wrap` messages. The `*_max` counters
    /// never wrap.
    static func wrapped(from old: SocketCounters, to new: SocketCounters) -> [String] {
        let before = old.asDictionary
        return new.asDictionary.filter { name, value in value < before[name, default: 0] }.keys.sorted()
    }

    mutating func read(_ n: Int) {
        readPkg &+= 1
        readByte &+= UInt64(n)
        readPkgMax = max(readPkgMax, UInt64(n))
    }

    mutating func wrote(_ n: Int) {
        writePkg &+= 1
        writeByte &+= UInt64(n)
        writePkgMax = max(writePkgMax, UInt64(n))
    }

    mutating func sentFile(_ n: Int) {
        sendfilePkg &+= 1
        sendfileByte &+= UInt64(n)
        sendfilePkgMax = max(sendfilePkgMax, UInt64(n))
    }
}
