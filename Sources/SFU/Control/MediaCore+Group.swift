// Group calls: every participant has one transport that publishes its tracks and receives the
// others'. Signaling owns the SDP (which m-line carries what); these operations only add and
// remove producers and consumers on a participant's transport as m-lines come and go.

extension MediaCore {
    /// Producer ids are stable per m-line, so a re-offer that keeps a track keeps its id.
    public static func producerID(participant: String, mid: String) -> String { "\(participant)-\(mid)" }

    /// New sending m-lines of an existing participant (a renegotiation that adds a track).
    public func addProducers(
        room: String, participantID: String, tracks: [TrackParameters], now: ContinuousClock.Instant
    ) throws(MediaServerError) -> [String] {
        let participant = try groupParticipant(room: room, id: participantID)
        var added: [String] = []
        for track in tracks where !participant.producers.contains(where: { $0.parameters.mid == track.mid }) {
            let producer = Producer(
                id: Self.producerID(participant: participantID, mid: track.mid), parameters: track,
                transport: participant.transport, retransmission: retransmission)
            participant.producers.append(producer)
            participant.transport.addProducer(producer)
            // A track added while the participant is muted starts muted.
            if participant.mute[track.kind]?.isMuted == true { producer.setPaused(true, now: now, queue: queue) }
            added.append(producer.id)
        }
        return added
    }

    /// Sending m-lines the participant stopped: their producers and everyone's consumers of them go.
    public func removeProducers(room: String, participantID: String, mids: [String]) throws(MediaServerError) {
        let participant = try groupParticipant(room: room, id: participantID)
        for mid in mids {
            guard let index = participant.producers.firstIndex(where: { $0.parameters.mid == mid }) else { continue }
            participant.producers.remove(at: index).close()
        }
    }

    /// Starts forwarding producers to `participantID` on its own transport. A request whose
    /// producer has gone meanwhile (its owner left while the offer was out) is skipped: the
    /// returned mids are the ones that forward.
    public func consume(
        room: String, participantID: String, requests: [ConsumerRequest], now: ContinuousClock.Instant
    ) throws(MediaServerError) -> [String] {
        guard let router = routers[room] else { throw .roomNotFound }
        let participant = try groupParticipant(room: room, id: participantID)
        var started: [String] = []
        for request in requests where participant.consumers[request.track.mid] == nil {
            guard let producer = router.producer(id: request.producerID), producer.transport !== participant.transport else {
                continue
            }
            let consumer = Consumer(
                id: "\(participantID)-\(request.track.mid)", producer: producer, transport: participant.transport,
                track: request.track, payloadType: request.payloadType, midExtensionID: request.midExtensionID,
                rtxPayloadType: request.rtxPayloadType, transportSequenceExtensionID: request.transportSequenceExtensionID)
            consumer.open(owner: participant)
            if let layers = participant.layerPreferences[producer.transport.id], consumer.track.kind == .video {
                consumer.setPreferredLayers(spatial: layers.spatial, temporal: layers.temporal, now: now, queue: queue)
            }
            started.append(request.track.mid)
        }
        return started
    }

    /// `participantID`'s layer preference for what it receives of `publisherID`'s video (the
    /// group protocol's `sfu-layers`); kept for consumers of that publisher that start later.
    public func setLayers(
        room: String, participantID: String, publisherID: String, spatial: Int, temporal: Int? = nil,
        now: ContinuousClock.Instant
    ) throws(MediaServerError) {
        let participant = try groupParticipant(room: room, id: participantID)
        let publisher = try groupParticipant(room: room, id: publisherID)
        participant.layerPreferences[publisherID] = (spatial, temporal)
        for consumer in participant.consumers.values
        where consumer.track.kind == .video && consumer.producer.transport === publisher.transport {
            consumer.setPreferredLayers(spatial: spatial, temporal: temporal, now: now, queue: queue)
        }
    }

    /// Stops forwarding on these m-lines of `participantID` (the other left, or the m-line was rejected).
    public func stopConsuming(room: String, participantID: String, mids: [String]) throws(MediaServerError) {
        let participant = try groupParticipant(room: room, id: participantID)
        for mid in mids { participant.consumers[mid]?.close() }
    }

    private func groupParticipant(room: String, id: String) throws(MediaServerError) -> RoomParticipant {
        guard let router = routers[room] else { throw .roomNotFound }
        guard let participant = router.participants[id] else { throw .participantNotFound }
        return participant
    }
}

extension Router {
    func producer(id: String) -> Producer? {
        for participant in participants.values {
            if let producer = participant.producers.first(where: { $0.id == id }) { return producer }
        }
        return nil
    }
}
