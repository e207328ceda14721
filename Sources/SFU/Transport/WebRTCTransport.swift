// One peer's transport: its ICE-lite agent, DTLS association and SRTP contexts, and the
// producers and consumers whose packets cross it. Sans-IO: bytes, addresses and time in;
// datagrams into the worker's SendQueue and events to the owner out.

import CCacheHints
import ICE
import RTP

public enum TransportState: String, Sendable, Codable {
    case new, connecting, connected, closed
}

enum TransportEvent {
    /// ICE validated or nominated a new address for this peer: route its packets here.
    case addressValidated(TransportAddress)
    case connected
    case closed(reason: String)
}

public final class WebRTCTransport: TimerHeapElement {
    // What a forwarded packet reads comes first (state, SRTP, the ICE agent's selected address):
    // Consumer.prefetch loads this object's first lines ahead of the packet.
    public private(set) var state: TransportState = .new
    private var srtpOut: SRTPContext? {
        didSet { fastSRTPOut = (srtpOut as? OpenSSLSRTPContext).map(Unmanaged.passUnretained) }
    }
    /// `srtpOut` when it is the OpenSSL backend, unretained (`srtpOut` keeps it alive and the two
    /// change together): the fan-out protects through it without retain/release on a cold
    /// object or an existential call, which perf showed at ~3 % of a forwarding core.
    private var fastSRTPOut: Unmanaged<OpenSSLSRTPContext>?
    private var srtpIn: SRTPContext?
    private(set) var ice: ICELiteAgent
    public let id: String
    private let dtls: DTLSEndpoint
    private let srtpBackend: SRTPBackend
    public private(set) var closeReason: String?
    /// The time origin of this transport's statistics (jitter is a difference of transits).
    let epoch: ContinuousClock.Instant
    /// Our SSRC as an RTCP sender of receiver reports and feedback (RFC 3550 §6.4.2).
    let rtcpSSRC = UInt32.random(in: 1...UInt32.max)
    let cname: String

    private(set) var producers: [Producer] = []
    /// Incoming streams (a producer's only one, or its simulcast layers) by SSRC.
    private var layersBySSRC: [UInt32: ProducerLayer] = [:]
    private var producersByMid: [String: Producer] = [:]
    private var midExtensionID: UInt8?
    /// RID and repaired-RID extension ids (RFC 8852): which layer a new SSRC is.
    private var ridExtensionID: UInt8?
    private var repairedRIDExtensionID: UInt8?
    private(set) var consumers: [Consumer] = []
    private var consumersBySSRC: [UInt32: Consumer] = [:]
    /// Incoming streams by their RTX SSRC.
    private var layersByRTXSSRC: [UInt32: ProducerLayer] = [:]

    /// The round trip to the peer, from its reports on ours (RFC 3550 LSR/DLSR, RFC 3611 DLRR).
    private(set) var roundTrip = RoundTripTime()
    var roundTripTime: Duration { roundTrip.value }
    /// The peer's transport-wide sequence numbers, for its transport-cc feedback (when one of
    /// its m-lines negotiated the extension).
    // @exclusivity(unchecked): touched on every packet, only on the worker's thread, and only
    // by methods of the value itself that never reach back into this property, so no two
    // accesses can overlap; the run-time check would cost ~80 instructions a packet.
    @exclusivity(unchecked) private var feedbackRecorder: TransportFeedbackRecorder?
    private var incomingTransportSequenceID: UInt8?
    private var nextFeedback: ContinuousClock.Instant
    /// REMB for a peer that negotiated goog-remb without transport-cc, and how its packets'
    /// send times are read: abs-send-time, else one video stream's RTP timestamps.
    @exclusivity(unchecked) private var rembEstimator: ReceiveSideEstimator?
    /// Whether `rembEstimator` is set (a Bool: comparing the optional to nil copies it).
    private var sendsREMB = false
    @exclusivity(unchecked) private var sendClock = SendClock()
    /// Our transport-wide sequence number towards the peer (one counter for every stream).
    /// What the peer's downlink carries, from its transport-cc feedback (subscribers that
    /// negotiated the transport-wide sequence number); unchecked like `feedbackRecorder`.
    @exclusivity(unchecked) private var sendEstimator: SendSideEstimator?
    private var estimatesDownlink = false
    /// The peer's own REMB: its downlink when it sends no transport-cc feedback (and a cap on
    /// the estimate when it does).
    private var subscriberREMB: Double?
    /// Padding toward a subscriber whose allocation is held down by the estimate (cold: read
    /// on the timers only).
    private var probe = ProbeController()
    private var nextPadding: ContinuousClock.Instant?
    /// Bytes of padding owed since the last timer run (the pacing's remainder).
    private var paddingCredit = 0.0
    @exclusivity(unchecked) private var transportSequence = UInt16.random(in: 0...UInt16.max)

    private var nextReport: ContinuousClock.Instant
    /// The worker's timer order this transport is in (MediaCore sets it; the heap holds when
    /// this transport is next due): input that may bring a deadline forward moves it up there.
    weak var timers: TimerHeap<WebRTCTransport>?
    var timerSlot = -1
    /// A peer that passes ICE checks but never completes DTLS must not hold resources forever.
    private let connectDeadline: ContinuousClock.Instant
    static let reportInterval: Duration = .seconds(1)

    var onEvent: ((WebRTCTransport, TransportEvent) -> Void)?

    init(
        id: String, local: ICECredentials, remote: RemoteTransportParameters, dtlsContext: DTLSContext,
        now: ContinuousClock.Instant, consentTimeout: Duration, srtpBackend: SRTPBackend = .default
    ) throws {
        self.srtpBackend = srtpBackend
        self.id = id
        self.ice = ICELiteAgent(local: local, remote: remote.ice, now: now, consentTimeout: consentTimeout)
        self.dtls = try DTLSEndpoint(context: dtlsContext, role: .server, remoteFingerprints: remote.fingerprints)
        self.epoch = now
        self.nextReport = now + Self.reportInterval
        self.nextFeedback = now + TransportFeedbackRecorder.interval
        self.connectDeadline = now + consentTimeout
        self.cname = "chorus-" + id.prefix(8)
    }

    public var localICE: ICECredentials { ice.local }
    /// Where media for this peer goes: the nominated (or first validated) ICE address.
    var sendAddress: TransportAddress? { state == .connected ? ice.selectedAddress : nil }
    var isConnected: Bool { state == .connected }
    var srtpOverhead: Int {
        if let fast = fastSRTPOut { return fast._withUnsafeGuaranteedRef { $0.profile.rtpOverhead } }
        return srtpOut?.profile.rtpOverhead ?? 16
    }

    /// Cache hints ahead of `protectRTP` (see Consumer.prefetch): stage 0 the SRTP context
    /// object, stages 1 and 2 its state and the stream of `ssrc`.
    @inline(__always)
    func prefetchProtect(ssrc: UInt32, stage: Int) {
        // Only the OpenSSL backend has state worth loading ahead.
        guard let fast = fastSRTPOut else { return }
        if stage == 0 {
            chorus_prefetch_lines(UnsafeRawPointer(fast.toOpaque()), 2)
        } else {
            fast._withUnsafeGuaranteedRef { $0.prefetchProtect(ssrc: ssrc, stage: stage - 1) }
        }
    }

    // MARK: - Producers and consumers

    func addProducer(_ producer: Producer) {
        producers.append(producer)
        for layer in producer.layers {
            if let ssrc = layer.ssrc { layersBySSRC[ssrc] = layer }
            if let rtx = layer.rtxSSRC { layersByRTXSSRC[rtx] = layer }
        }
        producersByMid[producer.parameters.mid] = producer
        if let id = producer.parameters.midExtensionID { midExtensionID = id }
        if let id = producer.parameters.ridExtensionID { ridExtensionID = id }
        if let id = producer.parameters.repairedRIDExtensionID { repairedRIDExtensionID = id }
        if let id = producer.parameters.transportSequenceExtensionID, feedbackRecorder == nil {
            incomingTransportSequenceID = id
            feedbackRecorder = TransportFeedbackRecorder(epoch: epoch)
            rembEstimator = nil
            sendsREMB = false
        }
        if feedbackRecorder == nil, producer.parameters.feedback.contains(.remb), rembEstimator == nil {
            rembEstimator = ReceiveSideEstimator(now: epoch)
            sendsREMB = true
            sendClock = SendClock(absSendTimeID: producer.parameters.absSendTimeExtensionID)
        }
    }

    func removeProducer(_ producer: Producer) {
        producers.removeAll { $0 === producer }
        layersBySSRC = layersBySSRC.filter { $0.value.producer !== producer }
        layersByRTXSSRC = layersByRTXSSRC.filter { $0.value.producer !== producer }
        if producersByMid[producer.parameters.mid] === producer { producersByMid[producer.parameters.mid] = nil }
    }

    /// The next transport-wide sequence number for a packet to the peer.
    @inline(__always)
    func takeTransportSequence() -> UInt16 {
        transportSequence &+= 1
        return transportSequence
    }

    func addConsumer(_ consumer: Consumer) {
        consumers.append(consumer)
        consumersBySSRC[consumer.track.ssrc] = consumer
        if consumer.transportSequenceExtensionID != nil, sendEstimator == nil {
            sendEstimator = SendSideEstimator(now: epoch)
            estimatesDownlink = true
        }
    }

    /// The packet just written with `takeTransportSequence`'s number went out, `bytes` long.
    @inline(__always)
    func sentWithTransportSequence(bytes: Int, now: ContinuousClock.Instant) {
        // A Bool, not `sendEstimator != nil`: that comparison copies the estimator (its arrays
        // retained and released) on every packet.
        if estimatesDownlink { sendEstimator!.sent(sequence: transportSequence, bytes: bytes, at: now) }
    }

    /// What the peer's downlink carries, from its transport-cc feedback (bits per second; nil
    /// before the first feedback, or when it negotiated no transport-cc with us).
    public var availableOutgoingBitrate: Double? {
        guard let estimate = sendEstimator?.estimate else { return subscriberREMB }
        return subscriberREMB.map { min($0, estimate) } ?? estimate
    }

    /// What the bandwidth allocator found: `wanted` (bit/s in total) for its next step, nil
    /// when every video got what it wants; `allocated`, what it sends now. Starts or stops a
    /// probe (padding paced on the timers).
    func allocationUpdated(wanted: Double?, allocated: Double, now: ContinuousClock.Instant) {
        let usable = consumers.contains { $0.canSendPadding }
        probe.update(wanted: usable ? wanted : nil, allocated: allocated, estimate: sendEstimator?.estimate, now: now)
        if probe.paddingRate > 0, nextPadding == nil {
            nextPadding = now
            wakeTimers(at: now)
        } else if probe.paddingRate == 0 {
            nextPadding = nil
            paddingCredit = 0
        }
    }

    /// The allocator's budget, nil for none. The estimate binds only once the subscriber's
    /// feedback has shown congestion, and for a while after (`congestionMemory`): an estimate
    /// is tied to what got through, so a young one, or one beside keyframe bursts, says little
    /// about a link that was never full, and would take layers or video away for nothing.
    /// A subscriber with only REMB is held to it always (its own estimate). Within that, the
    /// highest estimate of the last `allocationMemory` passes: one overuse episode (a scheduling
    /// hiccup on the subscriber's machine) drops the estimate to 85 % of what got through, and a
    /// layer is given up only when it stays down for a couple of seconds, as congestion does.
    func allocationBudget(now: ContinuousClock.Instant) -> Double? {
        let binding = sendEstimator == nil ? subscriberREMB != nil : (congestedUntil.map { now < $0 } ?? false)
        guard binding, let estimate = availableOutgoingBitrate else {
            recentEstimates.removeAll()
            return nil
        }
        recentEstimates.append(estimate)
        if recentEstimates.count > Self.allocationMemory { recentEstimates.removeFirst() }
        return recentEstimates.max()
    }

    private var recentEstimates: [Double] = []
    static let allocationMemory = 4

    /// Until when the estimate binds the allocator, and for how long one congestion binds it.
    private var congestedUntil: ContinuousClock.Instant?
    private var congestionMemory = initialCongestionMemory
    static let initialCongestionMemory: Duration = .seconds(10)
    static let maximumCongestionMemory: Duration = .seconds(120)

    /// Feedback showed congestion. Congestion back soon after the estimate stopped binding (the
    /// link is still too small for what was sent then) binds it twice as long, so a subscriber
    /// on a small link is not tried on the high layer every ten seconds.
    private func noteCongestion(now: ContinuousClock.Instant) {
        probe.congestion(now: now)
        if !probe.isProbing {
            nextPadding = nil
            paddingCredit = 0
        }
        if let until = congestedUntil, now >= until {
            congestionMemory = now - until < .seconds(30)
                ? min(congestionMemory * 2, Self.maximumCongestionMemory) : Self.initialCongestionMemory
        }
        congestedUntil = now + congestionMemory
    }

    /// Sends the padding owed since the last run, in ~290-byte packets on an RTX stream.
    private func sendPadding(now: ContinuousClock.Instant, queue: SendQueue) {
        guard let due = nextPadding, now >= due else { return }
        guard probe.paddingRate > 0, let carrier = consumers.first(where: { $0.canSendPadding && !$0.isClosed }) else {
            nextPadding = nil
            return
        }
        let elapsed = min((now - due + Self.paddingInterval).milliseconds / 1000, 0.1)
        paddingCredit += probe.paddingRate / 8 * elapsed
        while paddingCredit >= Double(Consumer.paddingBytes) {
            let sent = carrier.sendPadding(now: now, queue: queue)
            guard sent > 0 else { break }
            paddingCredit -= Double(sent)
        }
        nextPadding = now + Self.paddingInterval
    }

    static let paddingInterval: Duration = .milliseconds(20)

    func removeConsumer(_ consumer: Consumer) {
        consumers.removeAll { $0 === consumer }
        consumersBySSRC[consumer.track.ssrc] = nil
    }

    // MARK: - Input

    func handleSTUN(_ datagram: UnsafeRawBufferPointer, from source: TransportAddress, now: ContinuousClock.Instant, queue: SendQueue, stats: WorkerStats) {
        // A check changes ICE's deadlines: look at the timers again at the next tick.
        wakeTimers(at: now)
        switch ice.handle(datagram, from: source, now: now) {
        case .respond(let response, let destination):
            queue.enqueue(response, to: destination)
        case .drop:
            stats.drop(.stunRejected)
        }
        if case .closed = ice.state { return }
        if ice.isValidated(source) {
            onEvent?(self, .addressValidated(source))
        }
        if state == .new, ice.state == .connected {
            state = .connecting
        }
    }

    func handleDTLS(_ datagram: UnsafeRawBufferPointer, from source: TransportAddress, now: ContinuousClock.Instant, queue: SendQueue) {
        // DTLS input may start or stop its retransmission timer.
        wakeTimers(at: now)
        dtls.handle(datagram: datagram, now: now)
        flushDTLS(queue: queue, fallback: source)
        switch dtls.state {
        case .connected where state != .connected:
            guard let keys = dtls.srtpKeys else { return }
            do {
                srtpIn = try srtpBackend.makeContext(profile: keys.profile, masterKey: keys.remote, direction: .inbound)
                srtpOut = try srtpBackend.makeContext(profile: keys.profile, masterKey: keys.local, direction: .outbound)
            } catch {
                close(reason: "SRTP setup failed: \(error)", queue: queue)
                return
            }
            state = .connected
            onEvent?(self, .connected)
            // Subscribers start on a keyframe: ask every publisher now rather than at the first
            // packet (aggregated with other subscribers' requests: one PLI per interval).
            for consumer in consumers { consumer.requestKeyframe(now: now, queue: queue) }
        case .failed(let reason):
            close(reason: "DTLS: \(reason)", queue: queue)
        case .closed:
            close(reason: "DTLS close_notify", queue: queue)
        default:
            break
        }
    }

    /// SRTP or SRTCP (RFC 5761 §4: RTCP packet types 192...223 share the port).
    @inline(__always)
    func handleSRTP(_ datagram: UnsafeMutableRawBufferPointer, now: ContinuousClock.Instant, queue: SendQueue, stats: WorkerStats) {
        guard let srtpIn, datagram.count >= 12 else {
            stats.drop(srtpIn == nil ? .notConnected : .malformed)
            return
        }
        let payloadType = datagram[1] & 0x7F
        let isRTCP = payloadType >= 64 && payloadType <= 95
        let plainLength: Int
        do {
            plainLength = isRTCP
                ? try srtpIn.unprotectRTCP(datagram.baseAddress!, length: datagram.count)
                : try srtpIn.unprotectRTP(datagram.baseAddress!, length: datagram.count)
        } catch {
            stats.drop(error == .replayed ? .srtpReplay : .srtpAuthentication)
            return
        }
        let plain = UnsafeRawBufferPointer(start: datagram.baseAddress, count: plainLength)
        if isRTCP {
            handleRTCP(plain, now: now, queue: queue, stats: stats)
            return
        }
        var packet: RTPPacket
        do {
            packet = try RTPPacket(parsing: plain)
        } catch {
            stats.drop(.malformed)
            return
        }
        // Every packet counts for the publisher's estimator, retransmissions and probes too.
        if let id = incomingTransportSequenceID, let data = packet.headerExtension(id: id), data.count == 2 {
            // The first packet since the last feedback puts the feedback timer back in the
            // worker's order: `nextDeadline` leaves it out while there is nothing to report, so
            // without this the next feedback waited for another timer (the 1 s reports), and
            // GoogCC, hearing every ~0.5 s instead of every 100 ms, held its estimate down.
            // In place through `!` (set with the id): optional chaining would copy the recorder.
            if feedbackRecorder!.record(UInt16(data[0]) << 8 | UInt16(data[1]), at: now) { wakeTimers(at: nextFeedback) }
        }
        if sendsREMB { estimate(packet, now: now, queue: queue, stats: stats) }
        if let layer = layersBySSRC[packet.ssrc] {
            layer.producer.receive(packet, layer: layer, now: now, queue: queue, stats: stats)
            return
        }
        // RFC 4588: a retransmission on the RTX stream, back into its original stream.
        if let layer = rtxLayer(for: packet) {
            stats.count(.rtxReceived)
            guard let ssrc = layer.ssrc,
                let length = RTX.unwrap(
                    UnsafeMutableRawBufferPointer(start: datagram.baseAddress, count: plainLength), packet: packet,
                    payloadType: layer.producer.parameters.payloadType, ssrc: ssrc),
                let original = try? RTPPacket(parsing: UnsafeRawBufferPointer(start: datagram.baseAddress, count: length))
            else {
                stats.drop(.padding)  // an RTX probe: padding with no original packet
                return
            }
            packet = original
            layer.producer.receive(packet, layer: layer, now: now, queue: queue, stats: stats)
            return
        }
        guard let layer = layer(learning: packet, now: now, queue: queue) else {
            stats.drop(.unknownSSRC)
            return
        }
        layer.producer.receive(packet, layer: layer, now: now, queue: queue, stats: stats)
    }

    /// Feeds the REMB estimate and sends REMB when it is due (REMB-only peers; not inlined
    /// into the packet path of everyone else).
    @inline(never)
    private func estimate(_ packet: RTPPacket, now: ContinuousClock.Instant, queue: SendQueue, stats: WorkerStats) {
        // Mutated in place through the optional: a copy would duplicate its buffers.
        guard sendsREMB else { return }
        let sendMs = sendClock.sendMilliseconds(of: packet, timingStream: timingStream)
        rembEstimator!.packet(bytes: packet.bytes.count, sendMs: sendMs, now: now)
        if rembEstimator!.needsEvaluation(now: now), let bitrate = rembEstimator!.update(now: now) {
            let ssrcs = producers.flatMap(\.layers).compactMap(\.ssrc)
            sendRTCP([.remb(ReceiverEstimatedMaxBitrate(senderSSRC: rtcpSSRC, bitrate: bitrate, ssrcs: ssrcs))], queue: queue)
            stats.count(.rembSent)
        }
    }

    /// Without abs-send-time, the video stream whose capture times stand in for send times.
    private var timingStream: (ssrc: UInt32, clockRate: UInt32)? {
        guard let video = producers.first(where: { $0.kind == .video && $0.ssrc != nil }), let ssrc = video.ssrc else { return nil }
        return (ssrc, video.parameters.clockRate)
    }

    /// The MID extension's value (RFC 8843 §9.2), if the packet carries one.
    private func mid(of packet: RTPPacket) -> String? {
        guard let id = midExtensionID, let data = packet.headerExtension(id: id) else { return nil }
        return String(validating: data, as: UTF8.self)
    }

    /// The stream an RTX packet repairs: by its RTX SSRC, else (the first RTX packet of a
    /// stream announced without `a=ssrc-group:FID`, as Chromium's simulcast offers are) by its
    /// RTX payload type and, when several producers could match, its MID; of a simulcast
    /// producer, the layer its repaired-RID extension names (RFC 8852 §3.2).
    private func rtxLayer(for packet: RTPPacket) -> ProducerLayer? {
        if let layer = layersByRTXSSRC[packet.ssrc] { return layer }
        // Once per RTX stream: then its SSRC is known.
        let candidates = producers.filter { $0.parameters.rtxPayloadType == packet.payloadType }
        let producer: Producer?
        if let mid = mid(of: packet) {
            producer = candidates.first { $0.parameters.mid == mid }
        } else {
            producer = candidates.count == 1 ? candidates[0] : nil
        }
        guard let producer else { return nil }
        let layer: ProducerLayer?
        if !producer.isSimulcast {
            layer = producer.layers[0]
        } else if let id = repairedRIDExtensionID, let data = packet.headerExtension(id: id),
            let rid = String(validating: data, as: UTF8.self)
        {
            layer = producer.layer(rid: rid)
        } else {
            layer = nil  // which layer it repairs is unknown: wait for one that says
        }
        guard let layer else { return nil }
        if let old = layer.rtxSSRC, layersByRTXSSRC[old] === layer { layersByRTXSSRC[old] = nil }
        layer.rtxSSRC = packet.ssrc
        layersByRTXSSRC[packet.ssrc] = layer
        return layer
    }

    /// A media packet on an SSRC not seen yet: the MID extension (RFC 8843 §9.2) tells which
    /// m-line it belongs to, the RID extension (RFC 8852 §3.1) which simulcast layer (a new SSRC
    /// on a known stream is an encoder restart); without a MID, the payload type.
    private func layer(learning packet: RTPPacket, now: ContinuousClock.Instant, queue: SendQueue) -> ProducerLayer? {
        guard let mid = mid(of: packet), let producer = producersByMid[mid] else {
            // A transport with one producer per kind and no SSRCs in the SDP: match by payload type.
            let candidates = producers.filter {
                !$0.isSimulcast && $0.ssrc == nil && $0.parameters.payloadType == packet.payloadType
            }
            guard candidates.count == 1, let only = candidates.first?.layers[0] else { return nil }
            only.ssrc = packet.ssrc
            layersBySSRC[packet.ssrc] = only
            return only
        }
        let layer: ProducerLayer
        if !producer.isSimulcast {
            layer = producer.layers[0]
        } else {
            guard let id = ridExtensionID, let data = packet.headerExtension(id: id),
                let rid = String(validating: data, as: UTF8.self), let named = producer.layer(rid: rid)
            else { return nil }
            layer = named
        }
        if let old = layer.ssrc, layersBySSRC[old] === layer { layersBySSRC[old] = nil }
        layersBySSRC[packet.ssrc] = layer
        producer.rebind(layer, ssrc: packet.ssrc, now: now, queue: queue)
        return layer
    }

    private func handleRTCP(_ bytes: UnsafeRawBufferPointer, now: ContinuousClock.Instant, queue: SendQueue, stats: WorkerStats) {
        let packets: [RTCPPacket]
        do {
            packets = try RTCPCompound.parse(bytes)
        } catch {
            stats.drop(.malformed)
            return
        }
        for packet in packets {
            switch packet {
            case .senderReport(let report):
                layersBySSRC[report.ssrc]?.recordSenderReport(report, arrival: now)
                measureRoundTrip(report.reports, now: now, stats: stats)
            case .receiverReport(let report):
                measureRoundTrip(report.reports, now: now, stats: stats)
            case .extendedReport(let report):
                for entry in report.delaysSinceLastReceiverReport where entry.ssrc == rtcpSSRC {
                    if let sample = roundTrip.answered(lastReport: entry.lastReceiverReport, delay: entry.delay, now: now) {
                        stats.recordRoundTrip(sample)
                    }
                }
            case .transportFeedback(let feedback):
                sendEstimator?.feedback(feedback, now: now)
                if sendEstimator?.congested == true { noteCongestion(now: now) }
            case .remb(let remb):
                // Addressed to our streams, so it is about this peer's downlink.
                subscriberREMB = Double(remb.bitrate)
                sendEstimator?.remb(remb.bitrate)
            case .pictureLossIndication(let pli):
                guard let consumer = consumersBySSRC[pli.mediaSSRC] else { continue }
                stats.count(.keyframeRequestsReceived)
                consumer.requestKeyframe(now: now, queue: queue, stats: stats)
            case .fullIntraRequest(let fir):
                for entry in fir.entries {
                    guard let consumer = consumersBySSRC[entry.ssrc] else { continue }
                    stats.count(.keyframeRequestsReceived)
                    consumer.requestKeyframe(now: now, queue: queue, stats: stats)
                }
            case .nack(let nack):
                guard let consumer = consumersBySSRC[nack.mediaSSRC] else { continue }
                stats.count(.nacksReceived)
                stats.count(.nackedPackets, nack.lost.count)
                guard let layer = consumer.forwardedLayer else { continue }
                if layer.history == nil {
                    // The history is switched off: the publisher retransmits, as before it existed.
                    stats.count(.nacksForwarded)
                    layer.requestRetransmission(of: consumer.producerSequenceNumbers(for: nack.lost), queue: queue)
                } else if consumer.retransmit(nack.lost, roundTrip: roundTripTime, now: now, queue: queue, stats: stats) > 0 {
                    // What the history no longer has is repaired by a keyframe instead.
                    consumer.requestKeyframe(now: now, queue: queue, stats: stats)
                }
            default:
                break
            }
        }
    }

    /// Report blocks about the streams we send carry our LSR and the peer's DLSR.
    private func measureRoundTrip(_ blocks: [ReportBlock], now: ContinuousClock.Instant, stats: WorkerStats) {
        for block in blocks where consumersBySSRC[block.ssrc] != nil {
            if let sample = roundTrip.answered(lastReport: block.lastSenderReport, delay: block.delaySinceLastSenderReport, now: now) {
                stats.recordRoundTrip(sample)
            }
        }
    }

    // MARK: - Output

    @inline(__always)
    func protectRTP(_ slot: UnsafeMutableRawBufferPointer, length: Int) -> Int? {
        if let fast = fastSRTPOut {
            return fast._withUnsafeGuaranteedRef { try? $0.protectRTP(slot.baseAddress!, length: length, capacity: slot.count) }
        }
        guard let srtpOut else { return nil }
        return try? srtpOut.protectRTP(slot.baseAddress!, length: length, capacity: slot.count)
    }

    /// Encrypts and queues an RTCP compound packet to the peer.
    func sendRTCP(_ packets: [RTCPPacket], queue: SendQueue) {
        guard let srtpOut, let destination = sendAddress else { return }
        let plain = RTCPCompound.serialize(packets)
        let slot = queue.reserve()
        guard plain.count + srtpOut.profile.rtcpOverhead <= slot.count else { return }
        plain.withUnsafeBytes { slot.copyMemory(from: $0) }
        guard let length = try? srtpOut.protectRTCP(slot.baseAddress!, length: plain.count, capacity: slot.count) else {
            return
        }
        queue.commit(length: length, to: destination)
    }

    func sendPictureLossIndication(mediaSSRC: UInt32, queue: SendQueue) {
        sendRTCP(
            [
                .receiverReport(ReceiverReport(ssrc: rtcpSSRC, reports: [])),
                .pictureLossIndication(PictureLossIndication(senderSSRC: rtcpSSRC, mediaSSRC: mediaSSRC)),
            ], queue: queue)
    }

    func sendFullIntraRequest(mediaSSRC: UInt32, sequence: UInt8, queue: SendQueue) {
        sendRTCP(
            [
                .receiverReport(ReceiverReport(ssrc: rtcpSSRC, reports: [])),
                .fullIntraRequest(FullIntraRequest(senderSSRC: rtcpSSRC, entries: [.init(ssrc: mediaSSRC, sequenceNumber: sequence)])),
            ], queue: queue)
    }

    func sendNACK(mediaSSRC: UInt32, lost: [SequenceNumber], queue: SendQueue) {
        sendRTCP(
            [
                .receiverReport(ReceiverReport(ssrc: rtcpSSRC, reports: [])),
                .nack(GenericNACK(senderSSRC: rtcpSSRC, mediaSSRC: mediaSSRC, lost: lost)),
            ], queue: queue)
    }

    /// Periodic RTCP (RFC 3550 §6): an SR per consumer stream we send, an RR for the streams
    /// we receive, each compound with our CNAME.
    private func sendReports(now: ContinuousClock.Instant, wallClockNanoseconds: UInt64, queue: SendQueue) {
        let ntp = NTPTime.fromUnixNanoseconds(wallClockNanoseconds)
        // The peer echoes this in its report blocks (LSR) and DLRR: when it does, that is an RTT.
        roundTrip.sentReport(middle: NTPTime.middle32(ntp), at: now)
        for consumer in consumers where consumer.hasSentMedia {
            let report = SenderReport(
                ssrc: consumer.track.ssrc, ntpTimestamp: ntp,
                rtpTimestamp: consumer.senderReportTimestamp(now: now).rawValue,
                packetCount: UInt32(truncatingIfNeeded: consumer.packetsOut),
                octetCount: UInt32(truncatingIfNeeded: consumer.payloadBytesOut), reports: [])
            sendRTCP(
                [.senderReport(report), .sourceDescription(.cname(ssrc: consumer.track.ssrc, consumer.track.cname))],
                queue: queue)
        }
        let blocks = producers.flatMap(\.layers).compactMap { layer -> ReportBlock? in
            guard let ssrc = layer.ssrc, layer.receiveStatistics.hasReceived else { return nil }
            return layer.receiveStatistics.reportBlock(ssrc: ssrc, now: now)
        }
        if !blocks.isEmpty {
            sendRTCP(
                [
                    .receiverReport(ReceiverReport(ssrc: rtcpSSRC, reports: Array(blocks.prefix(31)))),
                    .sourceDescription(.cname(ssrc: rtcpSSRC, cname)),
                    // RFC 3611 RRTR: a publisher that receives nothing from us has no SR of ours to
                    // echo; its DLRR answer to this gives the round trip all the same.
                    .extendedReport(ExtendedReport(senderSSRC: rtcpSSRC, receiverReferenceTime: ntp)),
                ], queue: queue)
        }
    }

    // MARK: - Time

    /// Runs the timers that are due. The worker's tick calls this for the transports whose
    /// place in the TimerHeap has come, then files them again at `nextDeadline`.
    func handleTimeout(now: ContinuousClock.Instant, wallClockNanoseconds: UInt64, queue: SendQueue, stats: WorkerStats) {
        guard state != .closed else { return }
        runTimers(now: now, wallClockNanoseconds: wallClockNanoseconds, queue: queue, stats: stats)
    }

    /// Input that brings a deadline forward (STUN, DTLS, a NACK to retry, a keyframe request
    /// to send) moves this transport up in the worker's timer order.
    func wakeTimers(at instant: ContinuousClock.Instant) {
        timers?.scheduleNoLaterThan(self, at: instant)
    }

    /// The earliest of ICE consent, the connect deadline, DTLS retransmission and the next RTCP
    /// report. Only DTLS and ICE input can bring one forward; those call `wakeTimers`.
    var nextDeadline: ContinuousClock.Instant {
        var due = state == .connected ? nextReport : connectDeadline
        if let ice = ice.nextTimeout() { due = min(due, ice) }
        if let dtls = dtls.nextTimeout { due = min(due, dtls) }
        if state == .connected {
            if feedbackRecorder?.hasUnreported == true { due = min(due, nextFeedback) }
            for producer in producers {
                if let next = producer.nextDeadline { due = min(due, next) }
            }
            if let nextPadding { due = min(due, nextPadding) }
        }
        return due
    }

    private func runTimers(now: ContinuousClock.Instant, wallClockNanoseconds: UInt64, queue: SendQueue, stats: WorkerStats) {
        ice.handleTimeout(now: now)
        if case .closed(let reason) = ice.state {
            // No consent means no sending on that path at all (RFC 7675 §5.1), not even close_notify.
            close(reason: "ICE: \(reason)", queue: nil)
            return
        }
        if state != .connected, now >= connectDeadline {
            close(reason: "not connected within \(connectDeadline - epoch)", queue: queue)
            return
        }
        dtls.handleTimeout(now: now)
        flushDTLS(queue: queue, fallback: nil)
        if case .failed(let reason) = dtls.state {
            close(reason: "DTLS: \(reason)", queue: queue)
            return
        }
        guard state == .connected else { return }
        if now >= nextReport {
            nextReport = now + Self.reportInterval
            sendReports(now: now, wallClockNanoseconds: wallClockNanoseconds, queue: queue)
        }
        if now >= nextFeedback {
            nextFeedback = now + TransportFeedbackRecorder.interval
            sendTransportFeedback(queue: queue, stats: stats)
        }
        for producer in producers { producer.handleTimeout(now: now, queue: queue, stats: stats) }
        if nextPadding != nil { sendPadding(now: now, queue: queue) }
    }

    /// Transport-cc feedback on what arrived since the last (none when nothing did).
    private func sendTransportFeedback(queue: SendQueue, stats: WorkerStats) {
        guard feedbackRecorder != nil else { return }
        let packets = feedbackRecorder!.feedback(senderSSRC: rtcpSSRC, mediaSSRC: producers.first?.ssrc ?? 0)
        for packet in packets {
            sendRTCP([.transportFeedback(packet)], queue: queue)
            stats.count(.transportFeedbackSent)
        }
    }

    private func flushDTLS(queue: SendQueue, fallback: TransportAddress?) {
        guard let destination = ice.selectedAddress ?? fallback else {
            while dtls.pollTransmit() != nil {}
            return
        }
        while true {
            let slot = queue.reserve()
            guard let n = dtls.pollTransmit(into: slot) else { break }
            queue.commit(length: n, to: destination)
        }
    }

    /// Ends the transport: close_notify to the peer, then the owner frees everything.
    func close(reason: String, queue: SendQueue?) {
        guard state != .closed else { return }
        if let queue {
            dtls.close()
            flushDTLS(queue: queue, fallback: nil)
        }
        ice.close(reason: reason)
        state = .closed
        closeReason = reason
        srtpIn = nil
        srtpOut = nil
        onEvent?(self, .closed(reason: reason))
    }
}
