/// A process's credentials in an `SCM_CREDENTIALS` control message: C's `struct ucred`.
public struct Credentials: Sendable, Hashable, CustomStringConvertible {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32

    public init(pid: Int32, uid: UInt32, gid: UInt32) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
    }

    var bytes: [UInt8] {
        var out: [UInt8] = []
        out.append(native: pid)
        out.append(native: uid)
        out.append(native: gid)
        return out
    }

    init?(bytes: [UInt8]) {
        guard bytes.count == 12, let p = bytes.load(Int32.self, at: 0), let u = bytes.load(UInt32.self, at: 4),
              let g = bytes.load(UInt32.self, at: 8) else { return nil }
        self.init(pid: p, uid: u, gid: g)
    }

    public var description: String { "#{pid => \(pid), uid => \(uid), gid => \(gid)}" }
}
