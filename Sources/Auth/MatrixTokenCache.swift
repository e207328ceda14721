// The short memory of answered whoami requests (sans-IO: the time is passed in). Only
// successes are kept, and for at most a minute: a token the homeserver revokes stops working
// within `lifetime`, and a failure (an unknown token, a homeserver that was down) is asked
// again next time. Keys are SHA-256 digests, so the cache holds no usable token.

import COpenSSL

public struct MatrixTokenCache: Sendable {
    /// The longest the contract allows an answer to be reused (issue 15: "≤ 60 s").
    public static let maximumLifetime: Duration = .seconds(60)

    public let lifetime: Duration
    public let capacity: Int
    private var entries: [[UInt8]: (user: String, expires: ContinuousClock.Instant)] = [:]

    /// `lifetime` is capped at `maximumLifetime`; `capacity` bounds the memory a flood of
    /// distinct valid tokens can take.
    public init(lifetime: Duration = .seconds(30), capacity: Int = 10_000) {
        self.lifetime = min(lifetime, Self.maximumLifetime)
        self.capacity = max(1, capacity)
    }

    public var count: Int { entries.count }

    /// The user a still-fresh answer names, or nil.
    public mutating func user(for token: String, now: ContinuousClock.Instant) -> String? {
        let key = Self.key(token)
        guard let entry = entries[key] else { return nil }
        guard now < entry.expires else {
            entries.removeValue(forKey: key)
            return nil
        }
        return entry.user
    }

    /// Remembers a successful answer. Over capacity, expired entries go first, then the ones
    /// closest to expiry.
    public mutating func remember(_ user: String, for token: String, now: ContinuousClock.Instant) {
        guard lifetime > .zero else { return }
        let key = Self.key(token)
        if entries[key] == nil, entries.count >= capacity {
            entries = entries.filter { now < $0.value.expires }
            if entries.count >= capacity {
                let soonest = entries.sorted { $0.value.expires < $1.value.expires }.prefix(entries.count - capacity + 1)
                for (key, _) in soonest { entries.removeValue(forKey: key) }
            }
        }
        entries[key] = (user, now + lifetime)
    }

    static func key(_ token: String) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        let bytes = Array(token.utf8)
        bytes.withUnsafeBufferPointer { input in
            _ = SHA256(input.baseAddress, input.count, &digest)
        }
        return digest
    }
}
