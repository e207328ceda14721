// The homeserver's transaction ids already applied (Application Service API: a transaction is
// retried until acknowledged, so the same id may come again and must not act twice). The
// homeserver numbers them and sends one at a time, so the most recent few thousand are enough;
// an id being applied counts as seen, so a retry that overtakes it is not applied beside it.

struct MatrixTransactionLog: Sendable {
    let capacity: Int
    private var order: [String] = []
    private var seen: Set<String> = []

    init(capacity: Int = 4096) {
        self.capacity = capacity
    }

    /// True the first time `id` is begun; false while it is being applied or once it was.
    mutating func begin(_ id: String) -> Bool {
        guard seen.insert(id).inserted else { return false }
        order.append(id)
        if order.count > capacity {
            let old = order.prefix(order.count - capacity)
            for id in old { seen.remove(id) }
            order.removeFirst(old.count)
        }
        return true
    }

    /// An id whose application failed (the database was unavailable): the retry applies it.
    mutating func forget(_ id: String) {
        guard seen.remove(id) != nil else { return }
        order.removeAll { $0 == id }
    }
}
