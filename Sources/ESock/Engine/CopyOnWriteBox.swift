/// Fields that few values use, kept out of line behind one reference: a value that never sets
/// them carries a nil pointer instead of their bytes. The box is shared between copies of the
/// value that holds it and never changed while shared: ``unique(_:default:)`` copies it first,
/// so a copy somebody holds does not move when the original changes.
///
/// Used by ``SocketCounters`` (the sendfile and accept counters) and `SocketState` (the options
/// set from their defaults, what a cancel left behind, a listener's acceptor, a close's wait).
final class CopyOnWriteBox<Values> {
    var values: Values

    init(_ values: Values) { self.values = values }

    /// The box in `slot`, ready to be changed: made from `defaults` when there is none, copied
    /// when another value shares it.
    static func unique(_ slot: inout CopyOnWriteBox?, default defaults: @autoclosure () -> Values) -> CopyOnWriteBox {
        if slot == nil {
            slot = CopyOnWriteBox(defaults())
        } else if !isKnownUniquelyReferenced(&slot!) {
            slot = CopyOnWriteBox(slot!.values)
        }
        return slot!
    }
}

// @unchecked Sendable: `values` changes only through a box no other value shares (see
// `unique(_:default:)`), so a box reachable from two threads is only read.
extension CopyOnWriteBox: @unchecked Sendable where Values: Sendable {}
