/// A column of the socket table ``ESock/i(_:keys:)`` prints: Erlang's `info_keys()`.
public enum InfoKey: String, Sendable, Hashable, CaseIterable {
    case domain, type, `protocol`, fd, owner
    case localAddress = "local_address", remoteAddress = "remote_address"
    /// Bytes received (the `read_byte` counter).
    case recv
    /// Bytes sent (the `write_byte` counter).
    case sent
    /// The read and write states of ``SocketInfo`` (`rstates`, `wstates`).
    case state

    /// The column's heading, as OTP prints it.
    var heading: String {
        switch self {
        case .domain: return "Domain"
        case .type: return "Type"
        case .protocol: return "Protocol"
        case .fd: return "FD"
        case .owner: return "Owner"
        case .localAddress: return "Local Address"
        case .remoteAddress: return "Remote Address"
        case .recv: return "Recv"
        case .sent: return "Sent"
        case .state: return "State"
        }
    }

    /// The column's cell for `socket`.
    func cell(_ socket: Socket, _ info: SocketInfo) -> String {
        switch self {
        case .domain: return "\(info.domain)"
        case .type: return "\(info.type)"
        case .protocol: return "\(info.protocol)"
        case .fd: return "\(socket.fd)"
        case .owner: return info.owner.map { "\($0)" } ?? "-"
        case .localAddress: return (try? socket.sockname()).map { "\($0)" } ?? "-"
        case .remoteAddress: return (try? socket.peername()).map { "\($0)" } ?? "-"
        case .recv: return "\(info.counters.readByte)"
        case .sent: return "\(info.counters.writeByte)"
        case .state: return "\(info.rstates.joined(separator: ",")):\(info.wstates.joined(separator: ","))"
        }
    }
}

extension ESock {
    /// The table of the registered sockets `filter` selects (nil: all), one row per socket
    /// (oldest first) with the columns `keys`, widths fitted to the cells.
    public static func table(_ filter: SocketFilter? = nil, keys: [InfoKey] = InfoKey.allCases) -> String {
        let sockets = filter.map { whichSockets($0) } ?? whichSockets(where: { _ in true }).sorted { $0.id < $1.id }
        let rows = [keys.map(\.heading)] + sockets.map { s in
            let info = s.info()
            return keys.map { $0.cell(s, info) }
        }
        let widths = keys.indices.map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { row in
            // Every cell but the last is padded to its column's width.
            row.indices.map { c in
                c == row.count - 1 ? row[c] : row[c] + String(repeating: " ", count: widths[c] - row[c].count)
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }

    /// Prints the socket table to standard output (Erlang: `i/0`, `i/1` with `InfoKeys` or a
    /// domain, type or protocol, `i/2` with both): see ``table(_:keys:)``. Returns what it printed.
    @discardableResult
    public static func i(_ filter: SocketFilter? = nil, keys: [InfoKey] = InfoKey.allCases) -> String {
        let t = table(filter, keys: keys)
        print(t, terminator: "")
        return t
    }
}
