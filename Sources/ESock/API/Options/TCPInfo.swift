/// The kernel's view of a TCP connection (`{tcp, info}`, C's `struct tcp_info`): the fields most
/// used, times in microseconds.
public struct TCPInfo: Sendable, Hashable, CustomStringConvertible {
    /// `tcpi_state`: the TCP state (see ``stateName``).
    public var state: UInt8
    public var retransmits: UInt8
    public var rto: UInt32
    public var sndMss: UInt32
    public var rcvMss: UInt32
    public var unacked: UInt32
    public var lost: UInt32
    public var retrans: UInt32
    public var pmtu: UInt32
    public var rtt: UInt32
    public var rttvar: UInt32
    public var sndSsthresh: UInt32
    public var sndCwnd: UInt32

    /// Decodes the first 84 bytes of a `struct tcp_info`; nil when there are fewer.
    init?(bytes: [UInt8]) {
        func u32(_ o: Int) -> UInt32? { bytes.load(UInt32.self, at: o) }
        guard bytes.count >= 84, let rto = u32(8), let sndMss = u32(16), let rcvMss = u32(20), let unacked = u32(24),
              let lost = u32(32), let retrans = u32(36), let pmtu = u32(60), let rtt = u32(68), let rttvar = u32(72),
              let ssthresh = u32(76), let cwnd = u32(80) else { return nil }
        (state, retransmits) = (bytes[0], bytes[2])
        (self.rto, self.sndMss, self.rcvMss, self.unacked, self.lost, self.retrans) = (rto, sndMss, rcvMss, unacked, lost, retrans)
        (self.pmtu, self.rtt, self.rttvar, self.sndSsthresh, self.sndCwnd) = (pmtu, rtt, rttvar, ssthresh, cwnd)
    }

    /// Erlang's name of the TCP state (`established`, `listen`, ...).
    public var stateName: String {
        let names = ["unknown", "established", "syn_sent", "syn_recv", "fin_wait1", "fin_wait2", "time_wait",
                     "close", "close_wait", "last_ack", "listen", "closing"]
        return Int(state) < names.count ? names[Int(state)] : "\(state)"
    }

    /// The Erlang map form.
    public var description: String {
        "#{state => \(stateName), rtt => \(rtt), rttvar => \(rttvar), snd_cwnd => \(sndCwnd), " +
            "snd_mss => \(sndMss), rcv_mss => \(rcvMss), unacked => \(unacked), lost => \(lost), " +
            "retrans => \(retrans), retransmits => \(retransmits), pmtu => \(pmtu), rto => \(rto)}"
    }
}
