// What `chorus loadtest --churn` does next: the sans-IO choice among joins, leaves and mutes,
// so that a soak exercises the server's create and free paths (transports, rooms, producers,
// subscriptions, mute state) for as long as it runs instead of holding one fixed load. The
// runner carries the operations out (LoadRunner+Churn); this decides them, from the rooms'
// state and a random source, and is tested alone.

/// `--churn`: operations per second, and the population they move around.
public struct ChurnSettings: Equatable, Sendable, Codable {
    /// Operations started per second (each is one or a few HTTP requests and peer setups).
    public var operationsPerSecond: Double

    public init(operationsPerSecond: Double = 2) {
        self.operationsPerSecond = operationsPerSecond
    }

    public static let maxOperationsPerSecond = 50.0
}

public enum ChurnOperation: Equatable, Sendable {
    /// A new publisher joins `room` (WHIP), and each listener of the room subscribes to it (WHEP).
    case join(room: Int)
    /// The publisher at `publisher` in `room` leaves: its WHIP resource is deleted (which frees
    /// the subscriptions to it) and its peers close. A room whose last publisher leaves is gone
    /// at the server until someone joins it again.
    case leave(room: Int, publisher: Int)
    /// The publisher mutes or unmutes one kind of its own media (the room API's mute route).
    case mute(room: Int, publisher: Int, video: Bool, muted: Bool)
}

public struct ChurnPlan: Sendable {
    /// Publishers a full room has (the scenario's publishers per room).
    public let publishersPerRoom: Int

    public init(publishersPerRoom: Int) {
        precondition(publishersPerRoom >= 1, "a room needs a publisher")
        self.publishersPerRoom = publishersPerRoom
    }

    /// The next operation on a random room. `publishers[r]` is room r's publishers, each with
    /// its current (audio, video) mute state. A room below its size gets a join; a full one a
    /// leave or a mute, one time in two each, so joins and leaves balance over time and the
    /// population stays near the scenario's.
    public func next(
        publishers: [[(audioMuted: Bool, videoMuted: Bool)]], using random: inout some RandomNumberGenerator
    ) -> ChurnOperation {
        precondition(!publishers.isEmpty, "churn needs rooms")
        let room = Int.random(in: 0..<publishers.count, using: &random)
        let members = publishers[room]
        if members.count < publishersPerRoom {
            return .join(room: room)
        }
        let publisher = Int.random(in: 0..<members.count, using: &random)
        if Bool.random(using: &random) {
            return .leave(room: room, publisher: publisher)
        }
        let video = Bool.random(using: &random)
        let muted = video ? members[publisher].videoMuted : members[publisher].audioMuted
        return .mute(room: room, publisher: publisher, video: video, muted: !muted)
    }
}
