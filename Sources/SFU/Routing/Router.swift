// A room's media: its participants (each with one transport that publishes producers and, in
// group calls, also receives the others' tracks), the WHEP subscriptions to them, and the mute state that decides what the producers forward.

import ICE

final class RoomParticipant {
    let id: String
    let identity: String
    let transport: WebRTCTransport
    var producers: [Producer] = []
    var mute: [TrackKind: MuteState] = [.audio: MuteState(), .video: MuteState()]
    /// Subscriptions to this participant's tracks, by subscription id.
    var subscriptions: [String: Subscription] = [:]
    /// Group calls: what this participant receives of the others on its own transport, by the
    /// mid of the m-line that carries it.
    var consumers: [String: Consumer] = [:]
    /// Group calls: the spatial layer (and VP8 temporal cap, nil: all) this participant wants of
    /// each publisher's video, by the publisher's participant id (`sfu-layers`).
    var layerPreferences: [String: (spatial: Int, temporal: Int?)] = [:]

    init(id: String, identity: String, transport: WebRTCTransport) {
        self.id = id
        self.identity = identity
        self.transport = transport
    }

    /// Everything that hangs on this participant's transport closes: its producers (and with
    /// them every consumer of them, in group calls and WHEP subscriptions) and its consumers.
    func closeMedia() {
        for producer in producers { producer.close() }
        producers.removeAll()
        for consumer in Array(consumers.values) { consumer.close() }
    }
}

extension RoomParticipant: ConsumerOwner {
    func adopt(_ consumer: Consumer) { consumers[consumer.track.mid] = consumer }

    func forget(_ consumer: Consumer) {
        if consumers[consumer.track.mid] === consumer { consumers[consumer.track.mid] = nil }
    }
}

final class Subscription {
    let id: String
    let identity: String
    let transport: WebRTCTransport
    var consumers: [Consumer] = []

    init(id: String, identity: String, transport: WebRTCTransport) {
        self.id = id
        self.identity = identity
        self.transport = transport
    }
}

extension Subscription: ConsumerOwner {
    func adopt(_ consumer: Consumer) { consumers.append(consumer) }
    func forget(_ consumer: Consumer) { consumers.removeAll { $0 === consumer } }
}

final class Router {
    let name: String
    /// Who speaks here; fed by MediaCore every `SpeakerDetector.interval`.
    var speakers = SpeakerDetector()
    /// Whether the last audio levels sent listed anyone (so that silence is sent once).
    var levelsAudible = false
    private(set) var participants: [String: RoomParticipant] = [:]
    /// Join order, so that room state lists participants stably.
    private(set) var order: [String] = []

    init(name: String) {
        self.name = name
    }

    var isEmpty: Bool { participants.isEmpty }

    func add(_ participant: RoomParticipant) {
        participants[participant.id] = participant
        order.append(participant.id)
    }

    func removeParticipant(_ id: String) -> RoomParticipant? {
        order.removeAll { $0 == id }
        return participants.removeValue(forKey: id)
    }

    /// Applies a mute request and pauses or resumes that kind's producers accordingly.
    func setMute(
        participant: RoomParticipant, kind: TrackKind, muted: Bool, byAdmin: Bool, now: ContinuousClock.Instant,
        queue: SendQueue
    ) throws(MuteState.Change) {
        var state = participant.mute[kind] ?? MuteState()
        try state.apply(muted: muted, byAdmin: byAdmin)
        participant.mute[kind] = state
        for producer in participant.producers where producer.kind == kind {
            producer.setPaused(state.isMuted, now: now, queue: queue)
        }
    }
}
