// Twice a second, each subscriber's downlink estimate is divided among the tracks it receives
// (BandwidthAllocator): every layer's bitrate is measured, each receiving transport's
// consumers get their layer cap or a pause, pauses and resumes go to Signaling
// (`videoPaused`), and a transport whose allocation is held down by its estimate probes.

extension MediaCore {
    static let allocationInterval: Duration = .milliseconds(500)

    func allocateBandwidth(now: ContinuousClock.Instant) {
        for router in routers.values {
            for participant in router.participants.values {
                for producer in participant.producers {
                    for layer in producer.layers { layer.sampleBitrate(now: now) }
                }
            }
        }
        for router in routers.values {
            var publishers: [ObjectIdentifier: String] = [:]
            for participant in router.participants.values {
                for producer in participant.producers { publishers[ObjectIdentifier(producer)] = participant.id }
            }
            let speaker = router.speakers.dominant
            for participant in router.participants.values {
                // A group participant receives on its own transport; a WHEP subscription on its.
                allocate(
                    Array(participant.consumers.values), on: participant.transport, subscriber: participant.id, room: router.name,
                    publishers: publishers, speaker: speaker, now: now)
                for subscription in participant.subscriptions.values {
                    allocate(
                        subscription.consumers, on: subscription.transport, subscriber: subscription.id, room: router.name,
                        publishers: publishers, speaker: speaker, now: now)
                }
            }
        }
    }

    private func allocate(
        _ consumers: [Consumer], on transport: WebRTCTransport, subscriber: String, room: String,
        publishers: [ObjectIdentifier: String], speaker: String?, now: ContinuousClock.Instant
    ) {
        let consumers = consumers.filter { !$0.isClosed && !$0.producer.paused }
        guard transport.isConnected, consumers.contains(where: { $0.producer.kind == .video }) else { return }
        guard let budget = transport.allocationBudget(now: now) else {
            // No estimate, or no congestion seen: preferences only.
            for consumer in consumers { report(consumer, consumer.allocate(nil, now: now, queue: queue), subscriber, room, publishers) }
            transport.allocationUpdated(wanted: nil, allocated: 0, now: now)
            return
        }
        let tracks = consumers.map { consumer in
            BandwidthAllocator.Track(
                isAudio: consumer.producer.kind == .audio,
                priority: BandwidthAllocator.priority(
                    source: consumer.producer.source, isSpeaker: publishers[ObjectIdentifier(consumer.producer)] == speaker),
                layerBitrates: consumer.producer.layers.map(\.bitrate),
                maximumLayer: consumer.maximumLayer, current: consumer.allocatedLayer)
        }
        let result = BandwidthAllocator.allocate(budget: budget, tracks: tracks)
        var allocated = 0.0
        for (consumer, decision) in zip(consumers, result.decisions) {
            if case .layer(let layer) = decision { allocated += consumer.producer.layers[layer].bitrate ?? 0 }
            report(consumer, consumer.allocate(decision, now: now, queue: queue), subscriber, room, publishers)
        }
        transport.allocationUpdated(wanted: result.wanted, allocated: allocated, now: now)
    }

    private func report(_ consumer: Consumer, _ changed: Bool, _ subscriber: String, _ room: String, _ publishers: [ObjectIdentifier: String]) {
        guard changed, let publisher = publishers[ObjectIdentifier(consumer.producer)] else { return }
        onEvent?(.videoPaused(
            room: room, subscriberID: subscriber, publisherID: publisher, trackID: consumer.producer.id,
            source: consumer.producer.source, paused: consumer.pausedForBandwidth))
    }
}
