// What a load test plays: rooms, who publishes, who subscribes to whom, the presets (a meeting,
// a livestream, many small rooms), how `--rate` grows the load step by step, and the limits
// that keep a run bounded in peers and time.

public enum ScenarioPreset: String, CaseIterable, Sendable, Codable {
    /// `--rooms R --publishers P --subscribers S` as given (defaults 1, 1, 2).
    case custom
    /// One room of 10 participants, each publishing and subscribing to the 9 others.
    case meeting
    /// One publisher, 20 subscribers.
    case livestream
    /// 20 rooms of 3 participants, each publishing and subscribing to the 2 others.
    case smallRooms = "small-rooms"
}

public struct Scenario: Equatable, Sendable, Codable {
    public var name: String
    public var rooms: Int
    public var publishersPerRoom: Int
    /// Listeners that only subscribe, each to every publisher of its room (one WHEP session,
    /// so one transport, per publisher: WHEP serves one publisher's tracks per session).
    public var subscribersPerRoom: Int
    /// Meeting style: every publisher also subscribes to every other publisher of its room.
    public var publishersSubscribe: Bool

    public init(name: String, rooms: Int, publishersPerRoom: Int, subscribersPerRoom: Int, publishersSubscribe: Bool) {
        self.name = name
        self.rooms = rooms
        self.publishersPerRoom = publishersPerRoom
        self.subscribersPerRoom = subscribersPerRoom
        self.publishersSubscribe = publishersSubscribe
    }

    /// A preset with the given numbers overriding its own (`--rooms`, `--publishers`: for a
    /// meeting or small rooms, the participants per room; `--subscribers`: extra listeners).
    public static func preset(_ preset: ScenarioPreset, rooms: Int? = nil, publishers: Int? = nil, subscribers: Int? = nil) -> Scenario {
        switch preset {
        case .custom:
            Scenario(name: preset.rawValue, rooms: rooms ?? 1, publishersPerRoom: publishers ?? 1,
                     subscribersPerRoom: subscribers ?? 2, publishersSubscribe: false)
        case .meeting:
            Scenario(name: preset.rawValue, rooms: rooms ?? 1, publishersPerRoom: publishers ?? 10,
                     subscribersPerRoom: subscribers ?? 0, publishersSubscribe: true)
        case .livestream:
            Scenario(name: preset.rawValue, rooms: rooms ?? 1, publishersPerRoom: publishers ?? 1,
                     subscribersPerRoom: subscribers ?? 20, publishersSubscribe: false)
        case .smallRooms:
            Scenario(name: preset.rawValue, rooms: rooms ?? 20, publishersPerRoom: publishers ?? 3,
                     subscribersPerRoom: subscribers ?? 0, publishersSubscribe: true)
        }
    }

    /// WHEP sessions per room.
    public var subscriptionsPerRoom: Int {
        subscribersPerRoom * publishersPerRoom + (publishersSubscribe ? publishersPerRoom * (publishersPerRoom - 1) : 0)
    }

    public var publishers: Int { rooms * publishersPerRoom }
    public var subscriptions: Int { rooms * subscriptionsPerRoom }
    /// Peer connections (each WHIP or WHEP session is one ICE/DTLS transport).
    public var transports: Int { publishers + subscriptions }

    public func validate() throws(LoadTestError) {
        guard rooms >= 1, publishersPerRoom >= 1, subscribersPerRoom >= 0 else {
            throw .badArgument("a scenario needs at least 1 room and 1 publisher per room, and 0 or more subscribers")
        }
        guard subscriptions >= 1 else {
            throw .badArgument("nobody subscribes: add --subscribers, or more than one participant in a meeting")
        }
        guard transports <= LoadLimits.maxTransports else {
            throw .overLimit("\(transports) peer connections (\(publishers) publishers + \(subscriptions) subscriptions) exceed the cap of \(LoadLimits.maxTransports)")
        }
    }
}

public enum LoadLimits {
    /// Peer connections at once: each has a socket, a DTLS state and SRTP contexts here and
    /// on the server.
    public static let maxTransports = 2000
    /// Longest run, all steps included.
    public static let maxSeconds = 600
    /// Longest `--churn` run: a soak (Benchmarks/soak.sh runs 30 minutes).
    public static let maxChurnSeconds = 3600
    public static let maxSteps = 50
}

/// How `--rate` grows the load: step k runs k times the base's rooms or subscribers.
public enum RampGrowth: String, CaseIterable, Sendable, Codable {
    case rooms
    case subscribers

    /// More listeners for a single room with listeners (a livestream), more rooms otherwise.
    public static func natural(for scenario: Scenario) -> RampGrowth {
        scenario.rooms == 1 && scenario.subscribersPerRoom > 0 ? .subscribers : .rooms
    }

    public func scenario(base: Scenario, step: Int) -> Scenario {
        precondition(step >= 1, "steps count from 1")
        var scenario = base
        switch self {
        case .rooms: scenario.rooms = base.rooms * step
        case .subscribers: scenario.subscribersPerRoom = base.subscribersPerRoom * step
        }
        return scenario
    }
}
