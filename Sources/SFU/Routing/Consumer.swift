// One subscriber's copy of a Producer: forwards one of its layers (`LayerSelector` decides
// which, and when to switch), rewrites SSRC, payload type, sequence number and timestamp so that
// the subscriber sees one continuous stream across layer switches, mute, unmute and publisher
// restarts, and holds video back until a keyframe after every (re)start.

import CCacheHints
import ICE
import RTP

public final class Consumer {
    // The fields a forwarded packet reads and writes come first, so that the first lines of the
    // object hold them all (`prefetch(stage: 0)` loads those lines ahead of the packet).
    unowned let transport: WebRTCTransport
    /// Which layer goes out and the offsets that keep it continuous. Until a keyframe arrives
    /// after a (re)start nothing goes out: a decoder fed delta frames first shows garbage or
    /// nothing (aiortc, as measured, fails every frame until a keyframe).
    private var selector: LayerSelector
    /// The bandwidth allocator paused this video for its subscriber: nothing goes out until it
    /// resumes (on a keyframe, as after any restart).
    public private(set) var pausedForBandwidth = false
    /// A VP8 temporal cap was set: each packet's descriptor is read (to drop layers above it)
    /// and its picture ID rewritten (`temporalFilter`, cold until then).
    // @exclusivity(unchecked), here and on `temporalFilter` and `sentVP8`: touched on every
    // packet, only on the worker's thread, by code that never reaches back into the same
    // property while it holds it; the run-time checks cost ~340 instructions a packet (callgrind).
    @exclusivity(unchecked) private var rewritesVP8 = false
    /// The subscriber's payload type for the producer's codec.
    let payloadType: UInt8
    let midExtensionID: UInt8?
    /// The subscriber's id of the transport-wide sequence number extension: every packet to it
    /// carries the transport's next number (for its transport-cc feedback), if negotiated.
    let transportSequenceExtensionID: UInt8?
    /// Our SSRC towards the subscriber (`track.ssrc`), kept beside the other hot fields.
    private let outSSRC: UInt32
    /// The MID's bytes (at most 16) in place: an array would be one more cold line per packet.
    private let mid: (UInt64, UInt64)
    private let midLength: Int
    public internal(set) var packetsOut = 0
    public internal(set) var bytesOut = 0
    /// RTP payload bytes sent: the sender report's octet count (RFC 3550 §6.4.1 excludes
    /// header and padding), unlike `bytesOut`, which counts whole datagrams.
    private(set) var payloadBytesOut = 0
    public internal(set) var packetsDroppedWaitingForKeyframe = 0
    /// The transport's address, for cache hints only (a hint never dereferences it).
    private let transportAddress: UnsafeRawPointer

    public let id: String
    /// Unowned: a producer closes its consumers before it goes (`Producer.close`), so none
    /// outlives it. Everything that ends a consumer goes through `close()`.
    public unowned let producer: Producer
    public let track: OutgoingTrack
    /// Who else keeps this consumer (a WHEP subscription, a group participant's m-line).
    private weak var owner: (any ConsumerOwner)?
    public private(set) var isClosed = false

    // Retransmission (cold: touched only when the subscriber NACKs).
    /// The subscriber's RTX payload type for this codec (RFC 4588), if it negotiated RTX;
    /// retransmissions then go on `track.rtxSSRC` with their own sequence numbers.
    let rtxPayloadType: UInt8?
    private var rtxSequence = SequenceNumber(UInt16.random(in: 0...UInt16.max))
    /// When each recent outgoing sequence number was last resent (slot = number % size), so
    /// that one is not resent twice within a round trip (the first may still be on its way).
    private var resentSequences: [UInt16]
    private var resentAt: [ContinuousClock.Instant]
    private static let resentSlots = 512
    public internal(set) var packetsRetransmitted = 0

    // VP8 temporal layers (cold until the subscriber sets a cap).
    private let isVP8: Bool
    @exclusivity(unchecked) private var temporalFilter = VP8TemporalFilter()
    /// What went out under each recent outgoing number (slot = number % size), filled once the
    /// filter is engaged: after a drop the offsets no longer map an outgoing number back to the
    /// producer's, and a retransmission must carry the rewritten picture ID that went out.
    @exclusivity(unchecked) private var sentVP8: [SentVP8Packet] = []
    public private(set) var packetsDroppedTemporalLayer = 0

    init(
        id: String, producer: Producer, transport: WebRTCTransport, track: OutgoingTrack, payloadType: UInt8,
        midExtensionID: UInt8?, rtxPayloadType: UInt8? = nil, transportSequenceExtensionID: UInt8? = nil
    ) {
        self.id = id
        self.rtxPayloadType = track.rtxSSRC == nil ? nil : rtxPayloadType
        self.transportSequenceExtensionID = transportSequenceExtensionID
        resentSequences = Array(repeating: 0, count: Self.resentSlots)
        resentAt = Array(repeating: .now - .seconds(3600), count: Self.resentSlots)
        self.producer = producer
        self.transport = transport
        self.transportAddress = UnsafeRawPointer(Unmanaged.passUnretained(transport).toOpaque())
        self.track = track
        self.outSSRC = track.ssrc
        self.payloadType = payloadType
        self.midExtensionID = midExtensionID
        var mid: (UInt64, UInt64) = (0, 0)
        let midBytes = Array(track.mid.utf8.prefix(16))
        withUnsafeMutableBytes(of: &mid) { $0.copyBytes(from: midBytes) }
        self.mid = mid
        self.midLength = midBytes.count
        self.isVP8 = producer.parameters.codecName.lowercased() == "vp8"
        // The highest layer until the subscriber (later: its bandwidth) says otherwise; random
        // starting points (RFC 3550 §5.1), so a subscriber cannot align streams by them.
        self.selector = LayerSelector(
            target: producer.layers.count - 1, initialSequence: SequenceNumber(UInt16.random(in: 0...UInt16.max)),
            initialTimestamp: RTPTimestamp(rawValue: UInt32.random(in: 0...UInt32.max)))
    }

    /// Starts forwarding: the producer feeds it, the transport routes the subscriber's RTCP
    /// to it, and `owner` keeps it until it closes.
    func open(owner: any ConsumerOwner) {
        self.owner = owner
        producer.add(self)
        transport.addConsumer(self)
        owner.adopt(self)
    }

    /// The one way a consumer ends, whoever ends it (its producer closing, its subscriber's
    /// transport closing, an m-line going away): detached from producer, transport and owner.
    func close() {
        guard !isClosed else { return }
        isClosed = true
        producer.remove(self)
        transport.removeConsumer(self)
        owner?.forget(self)
        owner = nil
    }

    /// How many `prefetch` stages run ahead of `forward`.
    static let prefetchStages = 5

    /// Cache hints, one link of the chain at a time: the fan-out loop calls stage 0 a few
    /// consumers ahead, then 1, 2, ... as this consumer comes closer, so that each stage reads
    /// only what an earlier one has already loaded. At fan-outs of hundreds of subscribers on
    /// one core, their state does not stay in cache from one packet to the next.
    @inline(__always)
    func prefetch(stage: Int) {
        switch stage {
        case 0: chorus_prefetch_lines(UnsafeRawPointer(Unmanaged.passUnretained(self).toOpaque()), 3)
        case 1: chorus_prefetch_lines(transportAddress, 4)
        default: transport.prefetchProtect(ssrc: outSSRC, stage: stage - 2)
        }
    }

    /// Called on resume: re-anchor, and for video wait for a keyframe.
    func restart() {
        selector.restart()
    }

    /// A layer of the producer got a new SSRC: if it is the one forwarded, start over on it.
    func layerRestarted(_ layer: Int) {
        if selector.current == layer { selector.restart() }
    }

    /// The spatial layer the subscriber wants (capped to the producer's layers). A switch needs
    /// the target layer's keyframe: asked for now, the current layer flows until it comes. The
    /// temporal cap (VP8 only; nil: all layers) applies from the next frame down, from the next
    /// safe frame up.
    func setPreferredLayers(spatial: Int, temporal: Int?, now: ContinuousClock.Instant, queue: SendQueue) {
        preferredTemporalLayer = temporal
        if isVP8 { setTemporalCap(temporal.map { UInt8(clamping: max(0, $0)) }) }
        preferredSpatialLayer = spatial
        retarget(now: now, queue: queue)
    }

    /// The target: the preferred layer if it arrives, else the nearest one below that arrives,
    /// else the lowest above (the producer's `activeLayers`; before its first check, every layer
    /// counts). The bandwidth allocator will cap this further.
    func retarget(now: ContinuousClock.Instant, queue: SendQueue) {
        let count = producer.layers.count
        var preferred = min(max(0, preferredSpatialLayer ?? count - 1), count - 1)
        if let bandwidthLayer { preferred = min(preferred, bandwidthLayer) }
        let active = producer.activeLayers
        var target = preferred
        if active != 0, active & (1 << UInt8(preferred)) == 0 {
            let arriving = { (layer: Int) in active & (1 << UInt8(layer)) != 0 }
            target = (0..<preferred).reversed().first(where: arriving) ?? ((preferred + 1)..<count).first(where: arriving) ?? preferred
        }
        guard let needed = selector.setTarget(target) else { return }
        producer.requestKeyframe(layer: needed, now: now, queue: queue)
    }

    /// The highest layer the bandwidth allocator grants (nil: no estimate, no cap).
    private var bandwidthLayer: Int?

    /// The highest layer the subscriber wants, before the allocator's cap.
    var maximumLayer: Int {
        min(max(0, preferredSpatialLayer ?? producer.layers.count - 1), producer.layers.count - 1)
    }

    /// What the allocator forwards or waits for now (nil while paused): the layer it must not
    /// count as a step up.
    var allocatedLayer: Int? { pausedForBandwidth ? nil : (selector.current ?? selector.target) }

    /// Applies the allocator's decision (nil: no estimate, so no cap). Returns whether the
    /// consumer paused or resumed.
    func allocate(_ decision: BandwidthAllocator.Decision?, now: ContinuousClock.Instant, queue: SendQueue) -> Bool {
        switch decision {
        case .paused:
            guard !pausedForBandwidth else { return false }
            pausedForBandwidth = true
            return true
        case .layer(let layer)?:
            // Unchanged: nothing to re-target (that would repeat a waiting switch's keyframe
            // request every pass).
            if !pausedForBandwidth, bandwidthLayer == layer { return false }
            bandwidthLayer = layer
        case nil:
            if !pausedForBandwidth, bandwidthLayer == nil { return false }
            bandwidthLayer = nil
        }
        let resumed = pausedForBandwidth
        if resumed {
            // As after a mute: the stream continues where it stopped, on the next keyframe.
            pausedForBandwidth = false
            selector.restart()
        }
        retarget(now: now, queue: queue)
        if resumed { producer.requestKeyframe(layer: selector.keyframeLayer, now: now, queue: queue) }
        return resumed
    }

    /// The layer this consumer forwards (nil before its first keyframe) and the one it wants.
    public var currentLayer: Int? { selector.current }
    /// The highest temporal layer the subscriber wants (nil: all); applied to VP8 producers.
    public private(set) var preferredTemporalLayer: Int?
    /// The temporal cap in force now (nil: none); it follows the preference at safe frames.
    public var temporalLayer: Int? { temporalFilter.current.map(Int.init) }

    private func setTemporalCap(_ layer: UInt8?) {
        temporalFilter.setTarget(layer)
        if temporalFilter.isEngaged, !rewritesVP8 {
            sentVP8 = Array(repeating: SentVP8Packet(), count: Self.resentSlots)
            rewritesVP8 = true
        }
    }
    /// The subscriber's choice (nil: the highest layer).
    private var preferredSpatialLayer: Int?
    public var targetLayer: Int { selector.target }

    /// A subscriber's PLI or FIR: a keyframe of the layer it sees (or waits for).
    func requestKeyframe(now: ContinuousClock.Instant, queue: SendQueue, stats: WorkerStats? = nil) {
        producer.requestKeyframe(layer: selector.keyframeLayer, now: now, queue: queue, stats: stats)
    }

    @inline(__always)
    func forward(_ packet: RTPPacket, layer: Int, now: ContinuousClock.Instant, queue: SendQueue, stats: WorkerStats) {
        guard let destination = transport.sendAddress else {
            stats.drop(.notConnected)
            return
        }
        if pausedForBandwidth {
            stats.drop(.pausedForBandwidth)
            return
        }
        var sequence = packet.sequenceNumber
        var vp8 = VP8Forwarding()
        if rewritesVP8 {
            // Out of line: this function is inlined into the fan-out loop, which a consumer
            // without a temporal cap should find as small as before.
            guard let admitted = admitVP8(packet, layer: layer, stats: stats) else { return }
            vp8 = admitted
            sequence = admitted.sequence
        }
        let outSequence: SequenceNumber
        let outTimestamp: RTPTimestamp
        // Both closures are non-escaping and run only at a switch: nothing is allocated or retained here.
        switch selector.decide(
            layer: layer, sequence: sequence, timestamp: packet.timestamp,
            isKeyframe: isKeyframeStart(packet), now: now, clockRate: producer.parameters.clockRate,
            clock: { self.producer.layers[$0].senderReport })
        {
        case .forward(let sequence, let timestamp):
            outSequence = sequence
            outTimestamp = timestamp
        case .drop:
            return
        case .dropAndRequestKeyframe(let wanted):
            packetsDroppedWaitingForKeyframe &+= 1
            stats.drop(.waitingForKeyframe)
            producer.requestKeyframe(layer: wanted, now: now, queue: queue)
            return
        }

        let slot = queue.reserve()
        var length = writeHeader(
            marker: packet.marker, payloadType: payloadType, sequenceNumber: outSequence, timestamp: outTimestamp,
            ssrc: outSSRC, into: slot)
        let payload = packet.payload
        guard length + payload.count + transport.srtpOverhead <= slot.count else {
            stats.drop(.malformed)
            return
        }
        let outPayload = UnsafeMutableRawBufferPointer(rebasing: slot[length..<(length + payload.count)])
        outPayload.copyMemory(from: payload)
        length += payload.count
        if let descriptor = vp8.descriptor {
            rewriteVP8(outPayload, descriptor, anchors: vp8.anchors, out: outSequence, original: packet.sequenceNumber)
        }
        guard let protected = transport.protectRTP(slot, length: length) else {
            stats.drop(.notConnected)
            return
        }
        queue.commit(length: protected, to: destination)
        if transportSequenceExtensionID != nil { transport.sentWithTransportSequence(bytes: protected, now: now) }
        packetsOut &+= 1
        bytesOut &+= protected
        payloadBytesOut &+= payload.count
        stats.packetsOut &+= 1
        stats.bytesOut &+= protected
    }

    /// What `forward` keeps of a VP8 packet between the temporal filter and the rewrite.
    private struct VP8Forwarding {
        var descriptor: VP8PayloadDescriptor?
        /// The number to hand the selector: a late packet's own (see `admitVP8`).
        var sequence = SequenceNumber(0)
        /// The selector's anchor count before the packet: a change means it anchored on it.
        var anchors: UInt8 = 0
    }

    /// The temporal filter's part of `forward` (a cap was set): nil when the packet is dropped.
    @inline(never)
    private func admitVP8(_ packet: RTPPacket, layer: Int, stats: WorkerStats) -> VP8Forwarding? {
        var result = VP8Forwarding(
            descriptor: try? VP8PayloadDescriptor(parsing: packet.payload), sequence: packet.sequenceNumber,
            anchors: selector.anchors)
        // Another layer's packets are the selector's (dropped, or a keyframe to switch on).
        guard let descriptor = result.descriptor, layer == selector.current else { return result }
        let isLate = selector.isLate(packet.sequenceNumber)
        if isLate {
            // Packets dropped after this one moved the numbers down: it takes its own.
            guard let later = temporalFilter.droppedSequences.count(newerThan: packet.sequenceNumber.rawValue, mask: 0xFFFF)
            else {
                stats.drop(.temporalLayer)
                return nil
            }
            result.sequence = packet.sequenceNumber &+ UInt16(later)
        }
        let isKeyframe = descriptor.startsKeyframe(in: packet.payload)
        guard temporalFilter.admits(descriptor, sequence: packet.sequenceNumber, isKeyframe: isKeyframe, isLate: isLate) else {
            if !isLate { selector.skip() }
            packetsDroppedTemporalLayer &+= 1
            stats.drop(.temporalLayer)
            return nil
        }
        return result
    }

    /// Writes the picture ID and TL0PICIDX a forwarded packet goes out with into its copy, and
    /// notes them for retransmissions of `out`.
    @inline(never)
    private func rewriteVP8(
        _ payload: UnsafeMutableRawBufferPointer, _ descriptor: VP8PayloadDescriptor, anchors: UInt8, out: SequenceNumber,
        original: SequenceNumber
    ) {
        let numbers = temporalFilter.rewrite(descriptor, anchored: selector.anchors != anchors)
        VP8PayloadDescriptor.rewrite(payload, pictureID: numbers.pictureID, tl0PicIndex: numbers.tl0PicIndex)
        sentVP8[Int(out.rawValue) % Self.resentSlots] = SentVP8Packet(
            out: out, original: original, pictureID: numbers.pictureID, tl0PicIndex: numbers.tl0PicIndex)
    }

    /// The fixed header, then the MID (the subscriber's BUNDLE demux may rely on it, RFC 8843
    /// §15; its id is the subscriber's own, so the publisher's extensions cannot be copied as
    /// they are) and the transport-wide sequence number. Returns the header's length.
    @inline(__always)
    private func writeHeader(
        marker: Bool, payloadType: UInt8, sequenceNumber: SequenceNumber, timestamp: RTPTimestamp, ssrc: UInt32,
        into slot: UnsafeMutableRawBufferPointer
    ) -> Int {
        let length = RTPHeaderWriter.writeFixedHeader(
            marker: marker, payloadType: payloadType, sequenceNumber: sequenceNumber,
            timestamp: timestamp, ssrc: ssrc, into: slot)
        guard midExtensionID != nil || transportSequenceExtensionID != nil else { return length }
        var writer = OneByteExtensionWriter(packet: slot, headerLength: length)
        if let midExtensionID {
            withUnsafeBytes(of: mid) { _ = writer.append(id: midExtensionID, data: UnsafeRawBufferPointer(rebasing: $0.prefix(midLength))) }
        }
        if let transportSequenceExtensionID {
            let sequence = transport.takeTransportSequence().bigEndian
            withUnsafeBytes(of: sequence) { _ = writer.append(id: transportSequenceExtensionID, data: $0) }
        }
        return writer.finish()
    }

    private func isKeyframeStart(_ packet: RTPPacket) -> Bool {
        switch producer.parameters.codecName.lowercased() {
        case "vp8": VP8.isKeyframe(packet.payload)
        case "h264": H264.isKeyframe(packet.payload)
        default: true  // unknown codec: do not hold it back forever
        }
    }

    // MARK: - Retransmission

    /// Answers the subscriber's NACK from the producer's history: each listed packet that was
    /// sent with the current offsets, is still held, and was not resent within `roundTrip`
    /// goes again (as RTX when negotiated, RFC 4588, else on the original SSRC). Returns how
    /// many the history no longer had (the caller asks for a keyframe instead).
    func retransmit(
        _ lost: [SequenceNumber], roundTrip: Duration, now: ContinuousClock.Instant, queue: SendQueue, stats: WorkerStats
    ) -> Int {
        // Everything since the last anchor came from the current layer, whose history holds it.
        guard !pausedForBandwidth, let layer = selector.current, let history = producer.layers[layer].history,
            let destination = transport.sendAddress
        else { return 0 }
        let sequenceOffset = selector.sequenceOffset
        var missing = 0
        for outSequence in lost {
            // Not sent yet, or sent before the last re-anchor (other offsets): not ours to rebuild.
            guard selector.hasSent, !outSequence.isNewer(than: selector.highestOutSequence),
                !selector.anchorSequence.isNewer(than: outSequence)
            else {
                continue
            }
            let gate = Int(outSequence.rawValue) % Self.resentSlots
            if resentSequences[gate] == outSequence.rawValue, now - resentAt[gate] < roundTrip { continue }
            var sent: SentVP8Packet?
            if rewritesVP8 {
                // Not sent under this number (a dropped packet's, or too long ago to tell).
                sent = sentVP8[Int(outSequence.rawValue) % Self.resentSlots]
                guard sent?.isSent(as: outSequence) == true else { continue }
            }
            let original = history.extendedSequence(of: sent?.original ?? (outSequence &- sequenceOffset))
            guard let bytes = history.packet(original, now: now), let packet = try? RTPPacket(parsing: bytes) else {
                // Lost on the publisher's link too and being NACKed there: its repair reaches
                // this subscriber like any packet, so no keyframe is needed for it.
                if !producer.layers[layer].isBeingRepaired(original) { missing += 1 }
                continue
            }
            guard send(retransmissionOf: packet, as: outSequence, vp8: sent, to: destination, queue: queue, now: now)
            else { continue }
            resentSequences[gate] = outSequence.rawValue
            resentAt[gate] = now
            stats.count(.retransmittedFromCache)
        }
        stats.count(.retransmissionMisses, missing)
        return missing
    }

    /// Writes `packet` (from the history) as this consumer sent it (`vp8`: with the picture ID
    /// and TL0PICIDX that went out), or wrapped in RTX.
    private func send(
        retransmissionOf packet: RTPPacket, as outSequence: SequenceNumber, vp8: SentVP8Packet?, to destination: TransportAddress,
        queue: SendQueue, now: ContinuousClock.Instant
    ) -> Bool {
        let slot = queue.reserve()
        let timestamp = packet.timestamp &+ selector.timestampOffset
        var length: Int
        let payload = packet.payload
        if let rtxPayloadType, let rtxSSRC = track.rtxSSRC {
            length = writeHeader(
                marker: packet.marker, payloadType: rtxPayloadType, sequenceNumber: rtxSequence, timestamp: timestamp,
                ssrc: rtxSSRC, into: slot)
            guard length + 2 + payload.count + transport.srtpOverhead <= slot.count else { return false }
            rtxSequence = rtxSequence &+ 1
            // RFC 4588 §4: the original sequence number first, then the original payload.
            slot[length] = UInt8(outSequence.rawValue >> 8)
            slot[length + 1] = UInt8(truncatingIfNeeded: outSequence.rawValue)
            length += 2
        } else {
            length = writeHeader(
                marker: packet.marker, payloadType: payloadType, sequenceNumber: outSequence, timestamp: timestamp,
                ssrc: outSSRC, into: slot)
            guard length + payload.count + transport.srtpOverhead <= slot.count else { return false }
        }
        let outPayload = UnsafeMutableRawBufferPointer(rebasing: slot[length..<(length + payload.count)])
        outPayload.copyMemory(from: payload)
        if let vp8 {
            VP8PayloadDescriptor.rewrite(outPayload, pictureID: vp8.pictureID, tl0PicIndex: vp8.tl0PicIndex)
        }
        length += payload.count
        guard let protected = transport.protectRTP(slot, length: length) else { return false }
        queue.commit(length: protected, to: destination)
        if transportSequenceExtensionID != nil { transport.sentWithTransportSequence(bytes: protected, now: now) }
        packetsRetransmitted += 1
        return true
    }

    /// A padding-only packet on our RTX stream (RFC 3550 §5.1 padding; libwebrtc probes the same
    /// way): bytes that carry nothing but let the subscriber's transport-cc feedback show
    /// whether its downlink takes more. Needs RTX: padding on the media SSRC would take
    /// sequence numbers from the stream. Returns the bytes sent (0 when it cannot).
    func sendPadding(now: ContinuousClock.Instant, queue: SendQueue) -> Int {
        guard let rtxPayloadType, let rtxSSRC = track.rtxSSRC, transportSequenceExtensionID != nil,
            let destination = transport.sendAddress
        else { return 0 }
        let slot = queue.reserve()
        var length = writeHeader(
            marker: false, payloadType: rtxPayloadType, sequenceNumber: rtxSequence, timestamp: selector.lastOutTimestamp,
            ssrc: rtxSSRC, into: slot)
        let padding = Self.paddingBytes
        guard length + padding + transport.srtpOverhead <= slot.count else { return 0 }
        rtxSequence = rtxSequence &+ 1
        slot[0] |= 0x20  // P: the last byte says how many bytes of padding end the packet
        UnsafeMutableRawBufferPointer(rebasing: slot[length..<(length + padding - 1)]).initializeMemory(as: UInt8.self, repeating: 0)
        slot[length + padding - 1] = UInt8(padding)
        length += padding
        guard let protected = transport.protectRTP(slot, length: length) else { return 0 }
        queue.commit(length: protected, to: destination)
        transport.sentWithTransportSequence(bytes: protected, now: now)
        return protected
    }

    /// The most one byte can announce (RFC 3550 §5.1): a probe packet is ~290 bytes on the wire.
    static let paddingBytes = 255

    var canSendPadding: Bool { rtxPayloadType != nil && track.rtxSSRC != nil && transportSequenceExtensionID != nil }

    /// Maps a subscriber's lost sequence numbers back to the producer's numbering.
    func producerSequenceNumbers(for lost: [SequenceNumber]) -> [SequenceNumber] {
        guard rewritesVP8 else { return lost.map { $0 &- selector.sequenceOffset } }
        return lost.compactMap { out in
            let sent = sentVP8[Int(out.rawValue) % Self.resentSlots]
            return sent.isSent(as: out) ? sent.original : nil
        }
    }

    /// The producer stream this consumer's NACKs are about (the layer it forwards).
    var forwardedLayer: ProducerLayer? { selector.current.map { producer.layers[$0] } }

    /// Sender report fields for now: the RTP time that corresponds to `now`.
    func senderReportTimestamp(now: ContinuousClock.Instant) -> RTPTimestamp {
        let lastOutTimestamp = selector.lastOutTimestamp
        guard let lastOutTime = selector.lastOutTime else { return lastOutTimestamp }
        let elapsed = now - lastOutTime
        let ticks = (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
            * Double(producer.parameters.clockRate)
        return lastOutTimestamp &+ UInt32(clamping: max(0, Int64(ticks)))
    }

    var hasSentMedia: Bool { packetsOut > 0 }
}

/// One outgoing VP8 packet's numbers, as sent: what a retransmission of it must carry.
struct SentVP8Packet {
    var out = SequenceNumber(0)
    var original = SequenceNumber(0)
    private var picture: UInt16 = 0
    private var tl0: UInt8 = 0
    /// 1: `out` was sent (a slot starts empty); 2: with a picture ID; 4: with TL0PICIDX.
    private var flags: UInt8 = 0

    init() {}

    init(out: SequenceNumber, original: SequenceNumber, pictureID: UInt16?, tl0PicIndex: UInt8?) {
        self.out = out
        self.original = original
        picture = pictureID ?? 0
        tl0 = tl0PicIndex ?? 0
        flags = 1 | (pictureID == nil ? 0 : 2) | (tl0PicIndex == nil ? 0 : 4)
    }

    func isSent(as number: SequenceNumber) -> Bool { flags & 1 != 0 && out == number }
    var pictureID: UInt16? { flags & 2 != 0 ? picture : nil }
    var tl0PicIndex: UInt8? { flags & 4 != 0 ? tl0 : nil }
}

/// Keeps consumers besides their producer and transport: told when one starts and when it closes.
protocol ConsumerOwner: AnyObject {
    func adopt(_ consumer: Consumer)
    func forget(_ consumer: Consumer)
}
