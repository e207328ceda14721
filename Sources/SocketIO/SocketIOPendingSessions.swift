// The Engine.IO sessions that have not connected to the namespace yet (handshake done, no
// successful Socket.IO CONNECT), counted per client address and in all, so that handshakes alone
// cannot fill the server's memory: over a limit a handshake is refused until one expires or
// connects. Sans-IO: time is an input.

public struct SocketIOPendingSessions: Sendable {
    /// Why a handshake was refused, and when to try again.
    public struct Refusal: Error, Equatable, Sendable, CustomStringConvertible {
        public enum Scope: Equatable, Sendable {
            /// `maxPendingSessionsPerAddress` handshakes from this address are pending.
            case address
            /// `maxPendingSessions` handshakes are pending in all.
            case total
        }

        public var scope: Scope
        /// Until the oldest pending session that counts against the limit expires: then there
        /// is room again (sooner if one connects).
        public var retryAfter: Duration

        public var description: String {
            switch scope {
            case .address: "too many Socket.IO handshakes without a CONNECT from this address; try again later"
            case .total: "too many Socket.IO handshakes without a CONNECT; try again later"
            }
        }

        /// `retryAfter` in whole seconds, rounded up, at least 1 (the `Retry-After` header).
        public var retryAfterSeconds: Int {
            let (seconds, attoseconds) = retryAfter.components
            return max(1, Int(seconds) + (attoseconds > 0 ? 1 : 0))
        }
    }

    private struct Entry: Sendable {
        package var address: String
        package var deadline: EngineIOInstant
    }

    public let maxPerAddress: Int
    public let maxTotal: Int
    /// How long a session may stay pending: the connect timeout, after which it is closed.
    public let lifetime: Duration
    private var entries: [String: Entry] = [:]
    /// Each address's pending sids, oldest first (at most `maxPerAddress` each).
    private var byAddress: [String: [String]] = [:]
    /// Every pending sid, oldest first; sids that connected or closed are skipped lazily. All
    /// share one lifetime, so admission order is expiry order.
    private var order: [String] = []
    private var orderStart = 0

    public init(maxPerAddress: Int, maxTotal: Int, lifetime: Duration) {
        self.maxPerAddress = maxPerAddress
        self.maxTotal = maxTotal
        self.lifetime = lifetime
    }

    public init(configuration: SocketIOConfiguration) {
        self.init(
            maxPerAddress: configuration.maxPendingSessionsPerAddress, maxTotal: configuration.maxPendingSessions,
            lifetime: configuration.connectTimeout)
    }

    public var count: Int { entries.count }

    public func count(from address: String) -> Int { byAddress[address]?.count ?? 0 }

    public func contains(_ sid: String) -> Bool { entries[sid] != nil }

    /// Throws if a new session from `address` would cross a limit; admits nothing.
    public mutating func check(from address: String, now: EngineIOInstant) throws(Refusal) {
        expire(now: now)
        if let sids = byAddress[address], sids.count >= maxPerAddress, let oldest = sids.first.flatMap({ entries[$0] }) {
            throw Refusal(scope: .address, retryAfter: oldest.deadline - now)
        }
        if entries.count >= maxTotal, let oldest = oldestEntry {
            throw Refusal(scope: .total, retryAfter: oldest.deadline - now)
        }
    }

    /// Counts the new session `sid` from `address`, or throws if that would cross a limit.
    public mutating func admit(_ sid: String, from address: String, now: EngineIOInstant) throws(Refusal) {
        try check(from: address, now: now)
        entries[sid] = Entry(address: address, deadline: now + lifetime)
        byAddress[address, default: []].append(sid)
        order.append(sid)
    }

    /// The session connected or closed: it no longer counts.
    public mutating func remove(_ sid: String) {
        guard let entry = entries.removeValue(forKey: sid) else { return }
        forget(sid, of: entry.address)
        dropStaleOrder()
    }

    /// Forgets sessions past their lifetime. Their own connect timeout closes them; this keeps
    /// the count true even if a close were lost, since a slot that never came back would refuse
    /// handshakes for good.
    public mutating func expire(now: EngineIOInstant) {
        while orderStart < order.count {
            let sid = order[orderStart]
            if let entry = entries[sid] {
                guard entry.deadline <= now else { break }
                entries.removeValue(forKey: sid)
                forget(sid, of: entry.address)
            }
            orderStart += 1
        }
        compactOrder()
    }

    // MARK: Internals

    private var oldestEntry: Entry? {
        order[orderStart...].lazy.compactMap { entries[$0] }.first
    }

    private mutating func forget(_ sid: String, of address: String) {
        guard var sids = byAddress[address], let index = sids.firstIndex(of: sid) else { return }
        sids.remove(at: index)
        byAddress[address] = sids.isEmpty ? nil : sids
    }

    /// Skips sessions at the front of `order` that are no longer pending.
    private mutating func dropStaleOrder() {
        while orderStart < order.count, entries[order[orderStart]] == nil {
            orderStart += 1
        }
        compactOrder()
    }

    /// Drops the skipped front of `order` once it is most of the array, so that it stays
    /// proportional to what is pending (amortised O(1) per session).
    private mutating func compactOrder() {
        if orderStart == order.count {
            order.removeAll()
            orderStart = 0
        } else if orderStart > 64, orderStart * 2 > order.count {
            order.removeFirst(orderStart)
            orderStart = 0
        }
    }
}
