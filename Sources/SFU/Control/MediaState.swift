// What the SFU reports about rooms: plain Codable values that Signaling serves as JSON.

public struct TrackState: Sendable, Codable, Equatable {
    public var id: String
    public var mid: String
    public var kind: TrackKind
    /// Microphone, camera or screen share.
    public var source: TrackSource
    public var codec: String
    public var ssrc: UInt32?
    public var muted: Bool
    public var packetsIn: Int
    public var bytesIn: Int
    /// Packets that arrived while the track was muted and were dropped.
    public var packetsDroppedMuted: Int
    /// Sum over this track's consumers.
    public var packetsOut: Int
    public var bytesOut: Int
    public var keyframeRequests: Int
    public var consumers: Int
    /// The incoming streams, lowest first: one, or one per simulcast layer.
    public var layers: [LayerState]
}

/// One incoming stream of a track (a simulcast layer, or the only stream).
public struct LayerState: Sendable, Codable, Equatable {
    public var spatial: Int
    /// The RID of a RID-simulcast layer.
    public var rid: String?
    /// Learnt from the layer's first packet when the SDP did not name it.
    public var ssrc: UInt32?
    public var rtxSSRC: UInt32?
    public var packetsIn: Int
    public var bytesIn: Int
}

public struct SubscriptionState: Sendable, Codable, Equatable {
    public var id: String
    public var identity: String
    public var transportState: TransportState
    public var tracks: [ConsumerState]
    /// The subscriber's downlink as Chorus estimates it from its transport-cc feedback (bit/s).
    public var availableBitrate: Int?
}

public struct ConsumerState: Sendable, Codable, Equatable {
    public var id: String
    public var kind: TrackKind
    /// What the forwarded track shows (its producer's source).
    public var source: TrackSource
    /// The track forwarded (the publisher's TrackState id).
    public var producerId: String
    public var mid: String
    public var ssrc: UInt32
    public var packetsOut: Int
    public var bytesOut: Int
    public var packetsDroppedWaitingForKeyframe: Int
    /// The producer's spatial layer forwarded now (nil before the first keyframe).
    public var spatialLayer: Int?
    /// The layer wanted (the subscriber's preference, capped to the layers there are); a
    /// switch happens on that layer's next keyframe.
    public var targetSpatialLayer: Int
    /// The temporal layer the subscriber asked for, if any: for VP8, packets of higher layers
    /// (TID) are dropped once the cap is in force.
    public var temporalLayer: Int?
    /// The temporal cap in force now (nil: none); it reaches `temporalLayer` at the next frame
    /// down, at the next layer-sync frame up.
    public var forwardedTemporalLayer: Int?
    /// Packets of temporal layers above the cap, not sent.
    public var packetsDroppedTemporalLayer: Int
    /// Video the bandwidth allocator paused: the subscriber's downlink cannot take even its
    /// lowest layer beside its audio and the videos that come first.
    public var pausedForBandwidth: Bool
}

public struct ParticipantState: Sendable, Codable, Equatable {
    public var id: String
    public var identity: String
    public var transportState: TransportState
    public var audio: MuteState
    public var video: MuteState
    public var audioMuted: Bool
    public var videoMuted: Bool
    public var tracks: [TrackState]
    public var subscriptions: [SubscriptionState]
    /// Group calls: the others' tracks received on this participant's own transport, by mid.
    public var receiving: [ConsumerState]
    /// Group calls: this participant's downlink as Chorus estimates it (bit/s), once its
    /// transport-cc feedback on what it receives has come.
    public var availableBitrate: Int?
}

public struct RoomState: Sendable, Codable, Equatable {
    public var name: String
    public var participants: [ParticipantState]
    /// The participant id of the dominant speaker (absent until someone spoke).
    public var activeSpeaker: String?
}

public enum MediaServerError: Error, Equatable, Sendable {
    case roomNotFound
    case participantNotFound
    case subscriptionNotFound
    case participantExists
    case muteLockedByAdmin
    case nothingToSubscribe
    /// The worker holds as many transports as it may (`maximumTransportsPerWorker`).
    case tooManyTransports
    case failed(String)
}

/// The media transports one identity holds: its publishers (WHIP and group-call connections)
/// and everything else (WHEP subscriptions).
public struct MediaUsage: Sendable, Equatable {
    public var transports = 0
    public var publishers = 0

    public init(transports: Int = 0, publishers: Int = 0) {
        self.transports = transports
        self.publishers = publishers
    }

    mutating func add(publisher: Bool, count: Int) {
        transports += count
        if publisher { publishers += count }
    }

    static func + (a: MediaUsage, b: MediaUsage) -> MediaUsage {
        MediaUsage(transports: a.transports + b.transports, publishers: a.publishers + b.publishers)
    }
}
