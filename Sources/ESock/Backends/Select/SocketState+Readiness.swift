/// What one epoll event says of a socket, sorted by who may proceed.
struct Readiness {
    /// A receive will not block: data, urgent data, the peer's close, a hang-up or an error.
    var readable = false
    /// An accept will not block: a connection is pending (or the socket failed).
    var acceptable = false
    /// A send or a connect's outcome will not block: room, a hang-up or an error.
    var writable = false
    /// Urgent (out-of-band) data was signalled.
    var urgent = false
    /// The peer closed, or the socket hung up or failed.
    var hangup = false
}

// The select model's own transition: a readiness event for the socket.
extension SocketState {
    /// The select backend saw the socket become ready: every current operation waiting for that
    /// gets its select message.
    mutating func readiness(_ event: Readiness, _ fx: inout Effects) {
        guard !closed else { return }
        if event.urgent { urgentSeen = true }
        if event.hangup { hangupSeen = true }
        if event.readable {
            mayRead = true
            notify(.readers, &fx)
        }
        if event.acceptable { notify(.acceptors, &fx) }
        if event.writable {
            notify(.writers, &fx)
            notify(.connectors, &fx)
        }
    }

    private func notify(_ queue: OperationQueue, _ fx: inout Effects) {
        if let op = self[current: queue], op.phase == .waiting { SelectRules.notify(op, &fx) }
    }
}
