/// A socket's controlling process, its monitors and whether it is in the registry; guarded by
/// the socket's `ownership` lock (apart from the state lock, so that close can post DOWN
/// messages without holding the lock the I/O paths take).
///
/// The owner is held strongly, as the owner holds its open sockets: an owner lives while it owns
/// an open socket, and ends only explicitly (``Mailbox/end()``), never from a deinit. The pair
/// is undone when the socket closes (it leaves its owner's table).
struct Ownership {
    var owner: Mailbox?
    /// The monitors, each with the mailbox its DOWN message goes to (held strongly: a monitor
    /// keeps its receiver, as an Erlang monitor keeps its pid).
    var monitors: [MonitorRef: Mailbox] = [:]
    /// Erlang's `{otp, use_registry}`: whether the socket is in the registry.
    var useRegistry = true
    /// Set once the socket went down; no monitor can be added after.
    var down = false
}

extension Socket {
    /// The socket's controlling process (Erlang: `owner` of `info/1`, `{otp, controlling_process}`);
    /// nil when it has none or the owner mailbox is gone.
    public var owner: Mailbox? { ownership.withLock { $0.owner } }

    /// Makes `newOwner` the socket's controlling process (Erlang:
    /// `setopt(Socket, {otp, controlling_process}, Pid)`). Only the current owner, `caller`, may
    /// do so: any other caller gets `invalid("not_owner")`, as OTP answers `{error, not_owner}`.
    /// A socket with no owner may be claimed by any caller. The socket is then closed when
    /// `newOwner` ends, no longer when the previous owner does.
    public func setControllingProcess(_ newOwner: Mailbox, by caller: Mailbox) throws(SocketError) {
        try checkOpen()
        let previous = try ownership.withLock { (o: inout Ownership) throws(SocketError) -> Mailbox? in
            guard !o.down else { throw .closed }
            let current = o.owner
            if let current, current !== caller { throw .invalid("not_owner") }
            o.owner = newOwner
            return current
        }
        previous?.release(self)
        newOwner.adopt(self)
    }

    /// Starts monitoring the socket (Erlang: `monitor/1`): when the socket is closed, `mailbox`
    /// receives ``SocketMessage/down(socket:monitor:reason:)`` with the returned reference. Every
    /// call makes an independent monitor with its own DOWN message. On a socket already closed the
    /// DOWN message, with reason ``DownReason/nosock``, is posted at once.
    @discardableResult
    public func monitor(_ mailbox: Mailbox) -> MonitorRef {
        let ref = MonitorRef.make()
        let added = ownership.withLock { o -> Bool in
            guard !o.down else { return false }
            o.monitors[ref] = mailbox
            return true
        }
        if !added { mailbox.post(.down(socket: self, monitor: ref, reason: .nosock)) }
        return ref
    }

    /// Turns the monitor `ref` off (Erlang: `cancel_monitor/1`). True when it was found and
    /// removed: no DOWN message for it was or will be delivered. False when it was not found,
    /// most likely because its DOWN message was already delivered.
    @discardableResult
    public func cancelMonitor(_ ref: MonitorRef) -> Bool {
        ownership.withLock { $0.monitors.removeValue(forKey: ref) != nil }
    }

    /// Whether the socket is in the registry (Erlang: `{otp, use_registry}`).
    public var useRegistry: Bool { ownership.withLock { $0.useRegistry } }

    /// Puts the socket in the registry or takes it out (Erlang: `setopt(Socket, {otp,
    /// use_registry}, Bool)`); the options code calls this. A socket out of the registry stays
    /// open until ``close()``: its backend holds it.
    func setUseRegistry(_ on: Bool) throws(SocketError) {
        try checkOpen()
        let changed = ownership.withLock { o -> Bool in
            defer { o.useRegistry = on }
            return o.useRegistry != on && !o.down
        }
        if changed { Registry.shared.setListed(self, on) }
    }

    /// Marks the socket down and sends DOWN to every monitor; the socket leaves its owner. Called
    /// once, by ``close()``.
    func wentDown(_ reason: DownReason) {
        let (owner, monitors) = ownership.withLock { o -> (Mailbox?, [MonitorRef: Mailbox]) in
            o.down = true
            // A closed socket has no controlling process: it lets go of its owner, so that a
            // message about it left in the owner's mailbox does not keep the two alive.
            defer {
                o.monitors.removeAll()
                o.owner = nil
            }
            return (o.owner, o.monitors)
        }
        owner?.release(self)
        for (ref, mailbox) in monitors.sorted(by: { $0.key.id < $1.key.id }) {
            mailbox.post(.down(socket: self, monitor: ref, reason: reason))
        }
    }
}
