/// The options of level `otp`: Erlang's `{otp, Opt}`, settings of ESock itself rather than of
/// the kernel. The raw value is Erlang's name.
public enum OTPOption: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Boolean: ESock traces each operation started or finished on the socket, one line each,
    /// to ``ESock/traceSink`` (standard error unless one is set).
    case debug
    /// Boolean: "inform on wrap": the owner gets ``SocketMessage/counterWrap(socket:counter:)``
    /// when one of the socket's counters wraps.
    case iow
    /// The owner mailbox (``OptionValue/mailbox(_:)``); only the owner may set it (`by:`).
    case controllingProcess = "controlling_process"
    /// The most a receive asked for 0 bytes reads at once: ``OptionValue/int(_:)``,
    /// ``OptionValue/size(_:)`` (nil: the default, 65536) or ``OptionValue/bufferSizes(count:size:)``
    /// (a stream recv of length 0 gathers up to `count` full reads).
    case rcvbuf
    /// The control buffer size of a `recvmsg` asked for 0 (``OptionValue/int(_:)`` or
    /// ``OptionValue/size(_:)``, nil: the default, 1024).
    case rcvctrlbuf
    /// The largest control buffer a `sendmsg` encodes (as `rcvctrlbuf`).
    case sndctrlbuf
    /// Any value, kept for the user (``OptionValue/undefined`` until set).
    case meta
    /// Boolean, get only: whether the socket is in the registry.
    case useRegistry = "use_registry"
    /// Integer, get only: the descriptor.
    case fd
    /// ``OptionValue/domain(_:)``, get only: the domain the socket was opened with.
    case domain

    /// Erlang's name.
    public var description: String { rawValue }
}
