/// How ``Socket/getoptNative(level:option:as:)`` reads an option's value: Erlang's
/// `ValueSpec` of `getopt_native/3`.
public enum NativeValueSpec: Sendable, Hashable {
    /// A C `int`, given back as ``OptionValue/int(_:)``.
    case integer
    /// A C `int`, given back as ``OptionValue/bool(_:)`` (nonzero is true).
    case boolean
    /// At most this many bytes, given back as ``OptionValue/bytes(_:)``.
    case size(Int)
    /// These bytes passed in (some options read their argument), the bytes the kernel wrote
    /// given back as ``OptionValue/bytes(_:)``.
    case buffer([UInt8])
}
