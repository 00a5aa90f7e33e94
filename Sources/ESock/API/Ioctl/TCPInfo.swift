/// TCP's information about a connection (`struct tcp_info` of linux/tcp.h): the result of
/// Erlang's `ioctl(Socket, tcp_info)`, read with getsockopt(IPPROTO_TCP, TCP_INFO).
///
/// The fields of the 104-byte base structure are always there; the later ones are nil when the
/// kernel gave a shorter structure. Times are in microseconds unless said otherwise.
public struct TCPInfo: Sendable, Hashable, CustomStringConvertible {
    /// The connection state (`TCP_ESTABLISHED` = 1, ...); ``stateName`` spells it.
    public var state: UInt8
    /// The congestion-avoidance state (`TCP_CA_Open` = 0, ...).
    public var caState: UInt8
    /// `tcpi_retransmits`.
    public var retransmits: UInt8
    /// `tcpi_probes`.
    public var probes: UInt8
    /// `tcpi_backoff`.
    public var backoff: UInt8
    /// `TCPI_OPT_*` bits (timestamps, sack, wscale, ecn, ...).
    public var options: UInt8
    /// `tcpi_snd_wscale`.
    public var sndWscale: UInt8
    /// `tcpi_rcv_wscale`.
    public var rcvWscale: UInt8
    /// `tcpi_rto`.
    public var rto: UInt32
    /// `tcpi_ato`.
    public var ato: UInt32
    /// `tcpi_snd_mss`.
    public var sndMss: UInt32
    /// `tcpi_rcv_mss`.
    public var rcvMss: UInt32
    /// `tcpi_unacked`.
    public var unacked: UInt32
    /// `tcpi_sacked`.
    public var sacked: UInt32
    /// `tcpi_lost`.
    public var lost: UInt32
    /// `tcpi_retrans`.
    public var retrans: UInt32
    /// `tcpi_fackets`.
    public var fackets: UInt32
    /// Milliseconds since the last data sent.
    public var lastDataSent: UInt32
    /// Milliseconds since the last ACK sent (not kept by Linux: 0).
    public var lastAckSent: UInt32
    /// Milliseconds since the last data received.
    public var lastDataRecv: UInt32
    /// Milliseconds since the last ACK received.
    public var lastAckRecv: UInt32
    /// `tcpi_pmtu`.
    public var pmtu: UInt32
    /// `tcpi_rcv_ssthresh`.
    public var rcvSsthresh: UInt32
    /// Smoothed round-trip time.
    public var rtt: UInt32
    /// `tcpi_rttvar`.
    public var rttvar: UInt32
    /// `tcpi_snd_ssthresh`.
    public var sndSsthresh: UInt32
    /// `tcpi_snd_cwnd`.
    public var sndCwnd: UInt32
    /// `tcpi_advmss`.
    public var advmss: UInt32
    /// `tcpi_reordering`.
    public var reordering: UInt32
    /// `tcpi_rcv_rtt`.
    public var rcvRtt: UInt32
    /// `tcpi_rcv_space`.
    public var rcvSpace: UInt32
    /// `tcpi_total_retrans`.
    public var totalRetrans: UInt32
    /// Bytes per second (Linux 4.0 on).
    public var pacingRate: UInt64?
    /// `tcpi_bytes_acked`.
    public var bytesAcked: UInt64?
    /// `tcpi_bytes_received`.
    public var bytesReceived: UInt64?
    /// `tcpi_segs_out`.
    public var segsOut: UInt32?
    /// `tcpi_segs_in`.
    public var segsIn: UInt32?
    /// Bytes written but not yet sent.
    public var notsentBytes: UInt32?
    /// `tcpi_min_rtt`.
    public var minRtt: UInt32?

    /// The size of the base structure (up to `tcpi_total_retrans`).
    static let baseSize = 104

    /// Decodes a `struct tcp_info` as getsockopt gave it; nil when it is shorter than the base
    /// structure.
    public init?(bytes: [UInt8]) {
        guard bytes.count >= Self.baseSize else { return nil }
        func u32(_ at: Int) -> UInt32 {
            (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[at + $1]) << (8 * UInt32($1)) }
        }
        func u64(_ at: Int) -> UInt64? {
            guard at + 8 <= bytes.count else { return nil }
            return (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[at + $1]) << (8 * UInt64($1)) }
        }
        func u32Opt(_ at: Int) -> UInt32? { at + 4 <= bytes.count ? u32(at) : nil }
        state = bytes[0]
        caState = bytes[1]
        retransmits = bytes[2]
        probes = bytes[3]
        backoff = bytes[4]
        options = bytes[5]
        // Two 4-bit fields: snd_wscale first, in the low bits (little-endian bit-field order).
        sndWscale = bytes[6] & 0x0F
        rcvWscale = bytes[6] >> 4
        rto = u32(8); ato = u32(12); sndMss = u32(16); rcvMss = u32(20)
        unacked = u32(24); sacked = u32(28); lost = u32(32); retrans = u32(36); fackets = u32(40)
        lastDataSent = u32(44); lastAckSent = u32(48); lastDataRecv = u32(52); lastAckRecv = u32(56)
        pmtu = u32(60); rcvSsthresh = u32(64); rtt = u32(68); rttvar = u32(72)
        sndSsthresh = u32(76); sndCwnd = u32(80); advmss = u32(84); reordering = u32(88)
        rcvRtt = u32(92); rcvSpace = u32(96); totalRetrans = u32(100)
        pacingRate = u64(104)
        bytesAcked = u64(120)
        bytesReceived = u64(128)
        segsOut = u32Opt(136)
        segsIn = u32Opt(140)
        notsentBytes = u32Opt(144)
        minRtt = u32Opt(148)
    }

    /// The state as OTP spells it: `established`, `syn_sent`, `syn_recv`, `fin_wait1`,
    /// `fin_wait2`, `time_wait`, `closed`, `close_wait`, `last_ack`, `listen`, `closing`
    /// (`new_syn_recv` for Linux's 12); any other number as itself.
    public var stateName: String {
        let names = ["established", "syn_sent", "syn_recv", "fin_wait1", "fin_wait2", "time_wait", "closed",
                     "close_wait", "last_ack", "listen", "closing", "new_syn_recv"]
        let i = Int(state) - 1
        return names.indices.contains(i) ? names[i] : String(state)
    }

    /// The state and a few of the numbers.
    public var description: String {
        "TCPInfo(state: \(stateName), rtt: \(rtt)us, snd_cwnd: \(sndCwnd), unacked: \(unacked), total_retrans: \(totalRetrans))"
    }
}
