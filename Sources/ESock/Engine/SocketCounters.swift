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
    public var sendfile: UInt64 { get { rare?.values.sendfile ?? 0 } set { rareValues.sendfile = newValue } }
    public var sendfileByte: UInt64 { get { rare?.values.sendfileByte ?? 0 } set { rareValues.sendfileByte = newValue } }
    public var sendfileFails: UInt64 { get { rare?.values.sendfileFails ?? 0 } set { rareValues.sendfileFails = newValue } }
    public var sendfileMax: UInt64 { get { rare?.values.sendfileMax ?? 0 } set { rareValues.sendfileMax = newValue } }
    public var sendfilePkg: UInt64 { get { rare?.values.sendfilePkg ?? 0 } set { rareValues.sendfilePkg = newValue } }
    public var sendfilePkgMax: UInt64 { get { rare?.values.sendfilePkgMax ?? 0 } set { rareValues.sendfilePkgMax = newValue } }
    public var sendfileTries: UInt64 { get { rare?.values.sendfileTries ?? 0 } set { rareValues.sendfileTries = newValue } }
    public var sendfileWaits: UInt64 { get { rare?.values.sendfileWaits ?? 0 } set { rareValues.sendfileWaits = newValue } }
    public var accSuccess: UInt64 { get { rare?.values.accSuccess ?? 0 } set { rareValues.accSuccess = newValue } }
    public var accFails: UInt64 { get { rare?.values.accFails ?? 0 } set { rareValues.accFails = newValue } }
    public var accTries: UInt64 { get { rare?.values.accTries ?? 0 } set { rareValues.accTries = newValue } }
    public var accWaits: UInt64 { get { rare?.values.accWaits ?? 0 } set { rareValues.accWaits = newValue } }

    /// The sendfile and accept counters, which only a socket that sends files or listens moves:
    /// kept out of line, made at their first change (12 counters inline took 96 bytes of every
    /// connection, a tenth of a nowait connection's memory at 10,000 connections).
    private var rare: CopyOnWriteBox<RareCounters>?

    /// The out-of-line counters to change: made when there are none yet, copied when a copy of
    /// these counters (a value the user holds) shares them.
    private var rareValues: RareCounters {
        get { rare?.values ?? RareCounters() }
        _modify { yield &CopyOnWriteBox.unique(&rare, default: RareCounters()).values }
    }

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

    /// Equal counters have equal values (the record of wraps not yet reported is not compared).
    public static func == (a: SocketCounters, b: SocketCounters) -> Bool { a.asDictionary == b.asDictionary }

    /// Hashes the values.
    public func hash(into h: inout Hasher) {
        for (name, value) in asDictionary.sorted(by: { $0.key < $1.key }) {
            h.combine(name)
            h.combine(value)
        }
    }

    /// A counter that can wrap (the `*_max` ones cannot: they only keep a maximum).
    enum Counter: Int, CaseIterable {
        case readByte, readFails, readPkg, readTries, readWaits
        case writeByte, writeFails, writePkg, writeTries, writeWaits
        case sendfile, sendfileByte, sendfileFails, sendfilePkg, sendfileTries, sendfileWaits
        case accSuccess, accFails, accTries, accWaits

        /// Erlang's name (`read_byte`, ...).
        var name: String {
            switch self {
            case .readByte: return "read_byte"
            case .readFails: return "read_fails"
            case .readPkg: return "read_pkg"
            case .readTries: return "read_tries"
            case .readWaits: return "read_waits"
            case .writeByte: return "write_byte"
            case .writeFails: return "write_fails"
            case .writePkg: return "write_pkg"
            case .writeTries: return "write_tries"
            case .writeWaits: return "write_waits"
            case .sendfile: return "sendfile"
            case .sendfileByte: return "sendfile_byte"
            case .sendfileFails: return "sendfile_fails"
            case .sendfilePkg: return "sendfile_pkg"
            case .sendfileTries: return "sendfile_tries"
            case .sendfileWaits: return "sendfile_waits"
            case .accSuccess: return "acc_success"
            case .accFails: return "acc_fails"
            case .accTries: return "acc_tries"
            case .accWaits: return "acc_waits"
            }
        }
    }

    /// The counters that wrapped since ``takeWraps()`` last ran, one bit per ``Counter``: what
    /// `{otp, iow}` reports.
    private(set) var wrapped: UInt32 = 0

    /// Adds `n` to `counter`, wrapping at 2^64 and noting the wrap.
    @inline(__always)
    mutating func add(_ counter: Counter, _ n: UInt64 = 1) {
        func bump(_ value: inout UInt64) -> Bool {
            let (sum, overflow) = value.addingReportingOverflow(n)
            value = sum
            return overflow
        }
        let overflow: Bool
        switch counter {
        case .readByte: overflow = bump(&readByte)
        case .readFails: overflow = bump(&readFails)
        case .readPkg: overflow = bump(&readPkg)
        case .readTries: overflow = bump(&readTries)
        case .readWaits: overflow = bump(&readWaits)
        case .writeByte: overflow = bump(&writeByte)
        case .writeFails: overflow = bump(&writeFails)
        case .writePkg: overflow = bump(&writePkg)
        case .writeTries: overflow = bump(&writeTries)
        case .writeWaits: overflow = bump(&writeWaits)
        case .sendfile: overflow = bump(&rareValues.sendfile)
        case .sendfileByte: overflow = bump(&rareValues.sendfileByte)
        case .sendfileFails: overflow = bump(&rareValues.sendfileFails)
        case .sendfilePkg: overflow = bump(&rareValues.sendfilePkg)
        case .sendfileTries: overflow = bump(&rareValues.sendfileTries)
        case .sendfileWaits: overflow = bump(&rareValues.sendfileWaits)
        case .accSuccess: overflow = bump(&rareValues.accSuccess)
        case .accFails: overflow = bump(&rareValues.accFails)
        case .accTries: overflow = bump(&rareValues.accTries)
        case .accWaits: overflow = bump(&rareValues.accWaits)
        }
        if _slowPath(overflow) { wrapped |= 1 << UInt32(counter.rawValue) }
    }

    /// The names of the counters that wrapped since the last call, in ``Counter`` order; clears
    /// the record.
    mutating func takeWraps() -> [String] {
        defer { wrapped = 0 }
        return Counter.allCases.filter { wrapped & (1 << UInt32($0.rawValue)) != 0 }.map(\.name)
    }

    mutating func read(_ n: Int) {
        add(.readPkg)
        add(.readByte, UInt64(n))
        readPkgMax = max(readPkgMax, UInt64(n))
    }

    /// A send call took `n` bytes.
    mutating func wrote(_ n: Int) {
        add(.writeByte, UInt64(n))
    }

    /// A package of `size` bytes went completely (OTP counts `write_pkg` once per package,
    /// however many calls it took, and `write_pkg_max` is the largest such package).
    mutating func package(_ size: Int) {
        add(.writePkg)
        writePkgMax = max(writePkgMax, UInt64(size))
    }

    mutating func sentFile(_ n: Int) {
        add(.sendfilePkg)
        add(.sendfileByte, UInt64(n))
        sendfilePkgMax = max(sendfilePkgMax, UInt64(n))
    }
}

/// The sendfile and accept counters of a ``SocketCounters``, out of line (in a
/// `CopyOnWriteBox`, shared between copies of the counters until one changes).
struct RareCounters: Sendable {
    var sendfile: UInt64 = 0, sendfileByte: UInt64 = 0, sendfileFails: UInt64 = 0, sendfileMax: UInt64 = 0
    var sendfilePkg: UInt64 = 0, sendfilePkgMax: UInt64 = 0, sendfileTries: UInt64 = 0, sendfileWaits: UInt64 = 0
    var accSuccess: UInt64 = 0, accFails: UInt64 = 0, accTries: UInt64 = 0, accWaits: UInt64 = 0
}
