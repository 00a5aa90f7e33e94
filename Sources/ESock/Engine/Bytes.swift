/// Bounds-checked reads and writes of native-endian integers in byte arrays: the decoding of
/// kernel structures (control messages, addresses) never reads past what it was given.
extension Array where Element == UInt8 {
    /// The integer at `offset`, or nil when the bytes end before it.
    func load<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T? {
        guard offset >= 0, offset <= count - MemoryLayout<T>.size else { return nil }
        return withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
    }

    /// Appends the native bytes of `value`.
    mutating func append<T: FixedWidthInteger>(native value: T) {
        Swift.withUnsafeBytes(of: value) { append(contentsOf: $0) }
    }
}
