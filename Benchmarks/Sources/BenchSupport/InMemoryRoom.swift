// An SFU room in memory for the forwarding benchmark and its profiling probe: a MediaCore, one
// publisher and N subscribers, connected over real ICE, DTLS and SRTP through the tests'
// in-memory network (SFUTesting); afterwards the SFU's output is only counted.

import ICE
import RTP
import SFU
import SFUTesting

/// A MediaCore with one publisher (a VP8 track) and `fanOut` subscribers, all connected over
/// ICE, DTLS and SRTP; afterwards the measured loop hands packets to the core itself and the
/// SFU's output is only counted, as a worker hands it to sendmmsg.
public final class InMemoryRoom {
    static let room = "bench"
    static let videoSSRC: UInt32 = 0x2222_2222
    /// The publisher's and the subscribers' RFC 8285 id of the MID extension (Chrome's number).
    static let midExtensionID: UInt8 = 4
    /// A 1200-byte packet: 12 bytes of fixed header, 16 of extensions (MID, abs-send-time,
    /// transport-cc, as Chrome sends them), and the VP8 payload.
    static let packetSize = 1200
    static let payloadSize = packetSize - 12 - 16

    public let network: InMemoryNetwork
    public var core: MediaCore { network.core }
    public var publisherAddress: TransportAddress { publisher.address }
    public let fanOut: Int
    public let batch: PacketBatch
    private let publisher: Peer
    private var sequence = SequenceNumber(1)
    private var timestamp = RTPTimestamp(rawValue: 90_000)
    private let payload: [UInt8]
    /// VP8 with temporal layers (every packet a frame of TID 0 2 1 2 ..., with picture ID and
    /// TL0PICIDX), and every subscriber capped at TID 2: each packet still goes to everyone, but
    /// through the temporal filter (descriptor parsed, picture ID rewritten, what went out noted).
    private let temporalLayers: Bool
    private var pictureID: UInt16 = 0
    private var tl0PicIndex: UInt8 = 0

    public init(fanOut: Int, profile: SRTPProfile, batchSize: Int, temporalLayers: Bool = false) throws {
        self.fanOut = fanOut
        self.temporalLayers = temporalLayers
        batch = PacketBatch(count: batchSize)
        network = try InMemoryNetwork(profiles: [profile])
        payload = (0..<Self.payloadSize).map { UInt8(truncatingIfNeeded: $0 &* 31) }

        // The publisher: one VP8 track with its SSRC in the SDP, as a WHIP offer has it.
        publisher = try network.makePeer("publisher")
        // With NACK, RTX and transport-cc as Chromium negotiates them: the history stores every
        // packet and the transport-wide sequence number is recorded for feedback.
        let track = TrackParameters(
            mid: "1", kind: .video, codecName: "VP8", payloadType: 96, clockRate: 90_000, ssrc: Self.videoSSRC,
            midExtensionID: Self.midExtensionID, rtxPayloadType: 97, feedback: [.nack, .pli, .transportCC],
            transportSequenceExtensionID: Fixtures.transportCCExtensionID)
        try network.connect(publisher, answer: core.publish(
            room: Self.room, participantID: "publisher", identity: "publisher", remote: publisher.offer,
            tracks: [track], now: network.now))
        guard publisher.transport.srtpProfile == profile else {
            throw BenchmarkSetupError.notConnected("negotiated \(String(describing: publisher.transport.srtpProfile)), not \(profile)")
        }

        // The subscribers: one video slot each, in their own payload-type numbering.
        var subscribers: [Peer] = []
        for index in 0..<fanOut {
            let subscriber = try network.makePeer("subscriber-\(index)")
            // Each subscriber negotiated transport-cc too: every packet to it carries our
            // transport-wide sequence number.
            let slot = TrackParameters(
                mid: "0", kind: .video, codecName: "VP8", payloadType: 120, clockRate: 90_000,
                midExtensionID: Self.midExtensionID, rtxPayloadType: 121, feedback: [.nack, .pli, .transportCC],
                transportSequenceExtensionID: Fixtures.transportCCExtensionID)
            let (answer, _) = try core.subscribe(
                room: Self.room, participantID: "publisher", subscriptionID: "subscriber-\(index)",
                identity: "subscriber-\(index)", remote: subscriber.offer, slots: [slot], now: network.now)
            try network.connect(subscriber, answer: answer)
            subscribers.append(subscriber)
            if temporalLayers {
                _ = try core.setLayers(
                    room: Self.room, subscriptionID: "subscriber-\(index)", spatial: 0, temporal: 2, now: network.now)
            }
        }

        // A keyframe first: consumers hold video back until one arrives. Then check that it
        // reached every subscriber, so that the measured loop really forwards.
        try send(keyframe: true)
        network.settle()
        for subscriber in subscribers {
            let received = subscriber.rtp.filter { $0.payload.count == Self.payloadSize }.count
            guard received == 1 else { throw BenchmarkSetupError.notForwarding("a subscriber got \(received) packets") }
        }
        network.countSFUOutputOnly()
    }

    private func send(keyframe: Bool) throws {
        var body = payload
        if temporalLayers {
            // X, S, PID=0; I, L, T; a 15-bit picture ID, TL0PICIDX, TID; then the frame tag.
            let tid = [0, 2, 1, 2][Int(pictureID % 4)] as UInt8
            if tid == 0 { tl0PicIndex &+= 1 }
            body[0] = 0x90
            body[1] = 0xE0
            body[2] = 0x80 | UInt8(pictureID >> 8)
            body[3] = UInt8(pictureID & 0xFF)
            body[4] = tl0PicIndex
            body[5] = tid << 6
            body[6] = keyframe ? 0x10 : 0x11
            pictureID = (pictureID + 1) & 0x7FFF
        } else {
            // VP8 payload descriptor (RFC 7741 §4.2): S=1, PID=0; then the frame tag's P bit.
            body[0] = 0x10
            body[1] = keyframe ? 0x10 : 0x11
        }
        try publisher.transport.sendRTP(
            payloadType: 96, sequenceNumber: sequence, timestamp: timestamp, ssrc: Self.videoSSRC,
            marker: false, payload: body,
            extensions: [
                (id: Self.midExtensionID, data: Array("1".utf8)),
                (id: Fixtures.absSendTimeExtensionID, data: [0x12, 0x34, 0x56]),
                (id: Fixtures.transportCCExtensionID, data: [UInt8(sequence.rawValue >> 8), UInt8(sequence.rawValue & 0xFF)]),
            ])
        sequence = sequence &+ 1
        timestamp = timestamp &+ 3000
    }

    /// Fills the batch with the publisher's next packets, SRTP-protected (not measured).
    public func preparePackets() {
        for i in 0..<batch.count {
            do {
                try send(keyframe: false)
            } catch {
                fatalError("publisher cannot send: \(error)")
            }
            guard let datagram = publisher.transport.pollTransmit() else { fatalError("publisher sent nothing") }
            datagram.bytes.withUnsafeBytes { batch.slot(i).copyMemory(from: $0) }
            batch.lengths[i] = datagram.bytes.count
        }
        network.countedDatagrams = 0
    }

    /// Every packet must have gone to every subscriber, else the benchmark measures drops.
    public func checkIteration(packets: Int) {
        guard network.countedDatagrams == packets * fanOut else {
            fatalError("forwarded \(network.countedDatagrams) datagrams for \(packets) packets to \(fanOut) subscribers")
        }
    }
}

public enum BenchmarkSetupError: Error {
    case notConnected(String)
    case notForwarding(String)
}
