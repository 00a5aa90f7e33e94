// What a run was measured on, written with its figures.
import Foundation

/// What the run was measured on.
struct MachineInfo: Codable, Sendable {
    let cpuModel: String
    let cpus: Int
    let kernel: String
    let date: String
    /// /proc/loadavg's 1-, 5- and 15-minute figures when the run started ("12.54 9.74 8.39"): a
    /// busy machine lowers every figure and widens the spread.
    let loadAverage: String

    static func current() -> MachineInfo {
        let cpuinfo = readProcFile("/proc/cpuinfo") ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .map { String($0.split(separator: ":", maxSplits: 1).last ?? "").trimmingCharacters(in: .whitespaces) } ?? "unknown"
        let kernel = (readProcFile("/proc/sys/kernel/osrelease") ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        return MachineInfo(cpuModel: model, cpus: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), kernel: kernel,
                           date: ISO8601DateFormatter().string(from: Date()), loadAverage: currentLoadAverage())
    }

    /// The first three fields of /proc/loadavg.
    static func currentLoadAverage() -> String {
        (readProcFile("/proc/loadavg") ?? "").split(separator: " ").prefix(3).joined(separator: " ")
    }
}
