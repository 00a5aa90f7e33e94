/// A control (ancillary) message: Erlang's `cmsg_send()` / `cmsg_recv()`, C's `struct cmsghdr`.
///
/// `data` is always the message's native bytes; `value` is the decoded form where ESock knows the
/// (level, type) pair. (Interface placeholder: the codec lands with issue #4.)
public struct ControlMessage: Sendable, Hashable {
    /// The protocol level (`cmsg_level`).
    public var level: SocketLevel
    /// The type within the level (`cmsg_type`).
    public var type: Int32
    /// The native bytes of the message (`CMSG_DATA`, `cmsg_len - CMSG_LEN(0)` bytes).
    public var data: [UInt8]

    /// A control message of any level and type, with its native bytes.
    public init(level: SocketLevel, type: Int32, data: [UInt8]) {
        self.level = level
        self.type = type
        self.data = data
    }

    /// The bytes of a `msg_control` buffer holding `messages` (each `CMSG_SPACE`-aligned).
    static func encode(_ messages: [ControlMessage]) throws(SocketError) -> [UInt8] {
        if messages.isEmpty { return [] }
        throw .invalid("control messages are not supported yet")
    }

    /// The control messages in the first `buffer.count` bytes of a `msg_control` buffer (the
    /// `msg_controllen` the kernel returned). Never traps on malformed input.
    static func decode(_ buffer: UnsafeRawBufferPointer) -> [ControlMessage] {
        []
    }
}
