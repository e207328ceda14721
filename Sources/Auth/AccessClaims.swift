// The claims of a Chorus access token (JWT, HS256): who the bearer is, which room it is for,
// and what it may do there.

public struct AccessClaims: Codable, Sendable, Equatable {
    /// Identity of the bearer (a user id, e.g. "@alice:example.org" or "alice").
    public var sub: String
    /// A room name, or "*" for every room.
    public var room: String
    public var publish: Bool?
    public var subscribe: Bool?
    public var admin: Bool?
    /// Expiry, seconds since the Unix epoch (RFC 7519 §4.1.4 NumericDate).
    public var exp: Int64

    public init(identity: String, room: String, publish: Bool, subscribe: Bool, admin: Bool, expiresAt: Int64) {
        self.sub = identity
        self.room = room
        self.publish = publish
        self.subscribe = subscribe
        self.admin = admin
        self.exp = expiresAt
    }

    public var identity: String { sub }
    public var canPublish: Bool { publish ?? false }
    public var canSubscribe: Bool { subscribe ?? false }
    public var isAdmin: Bool { admin ?? false }

    public func allows(room name: String) -> Bool { room == "*" || room == name }
}
