// How much one user or one address may hold at once, and how fast calls may be started. The
// defaults are far above what a person does (a meeting, a few calls a minute) and far below
// what a script does, which is the point: a probe started 1,000 calls in 1.3 s and held
// 2,000 WebSocket connections from one address before these existed.

public struct ServiceLimits: Sendable, Equatable {
    /// Calls one user may start in any 60 seconds (CHORUS_MAX_CALLS_PER_MINUTE).
    public var callsPerUserPerMinute = 30
    /// Ringing or active calls one user may be in when starting another (CHORUS_MAX_OPEN_CALLS).
    public var openCallsPerUser = 10
    /// Realtime connections (/ws and Socket.IO) of one user at once: devices and tabs
    /// (CHORUS_MAX_CONNECTIONS_PER_USER).
    public var connectionsPerUser = 16
    /// Realtime connections from one client address at once; an office behind one NAT shares
    /// it (CHORUS_MAX_CONNECTIONS_PER_ADDRESS).
    public var connectionsPerAddress = 256
    /// WHIP publishers of one user at once (CHORUS_MAX_PUBLISHERS_PER_USER).
    public var publishersPerUser = 10
    /// Media transports of one user at once: WHIP publishers, WHEP subscriptions and group-call
    /// connections; a WHEP viewer of a 50-person meeting holds 49 (CHORUS_MAX_TRANSPORTS_PER_USER).
    public var transportsPerUser = 128

    public init() {}

    /// The call history page size when a client names none, and the largest it may ask for.
    public static let defaultPageSize = 20
    public static let maximumPageSize = 100
}

/// A limit that was reached: what to tell the client, and when trying again may succeed.
public struct LimitExceeded: Error, Sendable, Equatable {
    public var code: String
    public var message: String
    /// Whole seconds, for `Retry-After` (RFC 9110 §10.2.3).
    public var retryAfter: Int

    public init(_ code: String, _ message: String, retryAfter: Int) {
        self.code = code
        self.message = message
        self.retryAfter = max(1, retryAfter)
    }
}
