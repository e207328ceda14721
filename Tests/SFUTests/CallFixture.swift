// Test support: a call of one publisher (opus + VP8) and one subscriber over an
// InMemoryNetwork, with media generators that build real payloads (RFC 7741 VP8 descriptors),
// shared by the scenario tests.

import ICE
import Testing
import RTP
@testable import SFU
import SFUTesting

/// Packets of a VP8 stream as a publisher's packetizer writes them (RFC 7741 §4).
struct VP8Stream {
    let ssrc: UInt32
    let payloadType: UInt8 = 96
    var sequenceNumber = SequenceNumber(65530)  // wraps early in every test
    var timestamp = RTPTimestamp(4_294_960_000)
    var frameIndex: UInt8 = 0

    init(ssrc: UInt32) { self.ssrc = ssrc }

    struct Packet {
        var sequenceNumber: SequenceNumber
        var timestamp: RTPTimestamp
        var marker: Bool
        var payload: [UInt8]
    }

    /// One frame of `packets` packets: the first has S=1, PID=0 and the VP8 payload header
    /// whose P bit (RFC 6386 §9.1) says key (0) or inter (1) frame; the last has the marker.
    mutating func frame(keyframe: Bool, packets: Int = 2) -> [Packet] {
        var out: [Packet] = []
        for i in 0..<packets {
            // |X|R|N|S|R| PID |
            let descriptor: UInt8 = i == 0 ? 0x10 : 0x00
            var payload: [UInt8] = [descriptor]
            if i == 0 {
                // size0 | show_frame | version | P
                payload.append(keyframe ? 0x10 : 0x11)
            }
            payload += [0xAB, frameIndex, UInt8(i)] + [UInt8](repeating: UInt8(truncatingIfNeeded: i &+ 7), count: 40)
            out.append(Packet(sequenceNumber: sequenceNumber, timestamp: timestamp, marker: i == packets - 1, payload: payload))
            sequenceNumber = sequenceNumber &+ 1
        }
        frameIndex &+= 1
        timestamp = timestamp &+ 3000  // 30 fps at 90 kHz
        return out
    }
}

/// VP8 with temporal layers as libwebrtc sends it (L1T3): every packet's descriptor has X with
/// I (picture ID), L (TL0PICIDX) and T (TID, Y).
extension VP8Stream {
    struct Temporal {
        var pictureID: UInt16
        /// 7-bit picture IDs (M clear) instead of 15-bit.
        var shortPictureID = false
        var tl0PicIndex: UInt8 = 250  // wraps early
    }

    /// One frame of temporal layer `tid` (`sync`: the Y bit); a TID 0 frame takes the next
    /// TL0PICIDX, every frame the next picture ID.
    mutating func frame(
        keyframe: Bool, tid: UInt8, sync: Bool = false, temporal: inout Temporal, packets: Int = 2
    ) -> [Packet] {
        if tid == 0 { temporal.tl0PicIndex &+= 1 }
        let id = temporal.pictureID
        var frame = frame(keyframe: keyframe, packets: packets)
        for i in frame.indices {
            var descriptor: [UInt8] = [0x80 | frame[i].payload[0], 0xE0]  // X; I, L, T
            if temporal.shortPictureID {
                descriptor.append(UInt8(id & 0x7F))
            } else {
                descriptor += [0x80 | UInt8(id >> 8 & 0x7F), UInt8(id & 0xFF)]
            }
            descriptor += [temporal.tl0PicIndex, tid << 6 | (sync ? 0x20 : 0)]
            frame[i].payload = descriptor + frame[i].payload.dropFirst()
        }
        temporal.pictureID = (id &+ 1) & (temporal.shortPictureID ? 0x7F : 0x7FFF)
        return frame
    }
}

/// 20 ms opus packets (the payload is opaque to the SFU).
struct OpusStream {
    let ssrc: UInt32
    let payloadType: UInt8 = 111
    var sequenceNumber = SequenceNumber(100)
    var timestamp = RTPTimestamp(5000)
    var index: UInt16 = 0

    init(ssrc: UInt32) { self.ssrc = ssrc }

    mutating func next() -> VP8Stream.Packet {
        let packet = VP8Stream.Packet(
            sequenceNumber: sequenceNumber, timestamp: timestamp, marker: false,
            payload: [0xFC, UInt8(index >> 8), UInt8(index & 0xFF)] + [UInt8](repeating: 0x5A, count: 20))
        sequenceNumber = sequenceNumber &+ 1
        timestamp = timestamp &+ 960
        index &+= 1
        return packet
    }
}

final class CallFixture {
    static let room = "room-1"
    static let publisherID = "alice"
    static let subscriptionID = "bob-watches-alice"
    static let audioSSRC: UInt32 = 0x1111_1111
    static let videoSSRC: UInt32 = 0x2222_2222
    /// The subscriber's own numbering of the codecs and of the MID extension.
    static let subscriberAudioPT: UInt8 = 109
    static let subscriberVideoPT: UInt8 = 120
    static let subscriberMidExtensionID: UInt8 = 4

    let net: InMemoryNetwork
    let publisher: Peer
    let subscriber: Peer
    private(set) var outgoing: [OutgoingTrack] = []
    var video = VP8Stream(ssrc: CallFixture.videoSSRC)
    var audio = OpusStream(ssrc: CallFixture.audioSSRC)

    static let publishedTracks = [
        TrackParameters(mid: "0", kind: .audio, codecName: "opus", payloadType: 111, clockRate: 48000, ssrc: audioSSRC, midExtensionID: 9),
        TrackParameters(mid: "1", kind: .video, codecName: "VP8", payloadType: 96, clockRate: 90000, ssrc: videoSSRC, midExtensionID: 9),
    ]
    static let subscriberSlots = [
        TrackParameters(mid: "0", kind: .audio, codecName: "opus", payloadType: subscriberAudioPT, clockRate: 48000, midExtensionID: subscriberMidExtensionID),
        TrackParameters(mid: "1", kind: .video, codecName: "VP8", payloadType: subscriberVideoPT, clockRate: 90000, midExtensionID: subscriberMidExtensionID),
    ]

    /// Publishes and subscribes; with `connect`, runs both transports to connected.
    init(net: InMemoryNetwork? = nil, connect: Bool = true) throws {
        self.net = try net ?? InMemoryNetwork()
        publisher = try self.net.makePeer("publisher")
        subscriber = try self.net.makePeer("subscriber")
        if connect {
            try connectPublisher()
            try connectSubscriber()
        }
    }

    var core: MediaCore { net.core }

    func connectPublisher() throws {
        let answer = try core.publish(
            room: Self.room, participantID: Self.publisherID, identity: "Alice", remote: publisher.offer,
            tracks: Self.publishedTracks, now: net.now)
        try net.connect(publisher, answer: answer)
    }

    func connectSubscriber() throws {
        let (answer, tracks) = try core.subscribe(
            room: Self.room, participantID: Self.publisherID, subscriptionID: Self.subscriptionID, identity: "Bob",
            remote: subscriber.offer, slots: Self.subscriberSlots, now: net.now)
        outgoing = tracks
        try net.connect(subscriber, answer: answer)
    }

    /// For tests with their own track parameters (`connect: false`): publishes `tracks`,
    /// subscribes with `slots`, and connects both.
    func connect(publishing tracks: [TrackParameters], slots: [TrackParameters] = CallFixture.subscriberSlots) throws {
        let answer = try core.publish(
            room: Self.room, participantID: Self.publisherID, identity: "Alice", remote: publisher.offer, tracks: tracks,
            now: net.now)
        try net.connect(publisher, answer: answer)
        let (subscriberAnswer, outgoing) = try core.subscribe(
            room: Self.room, participantID: Self.publisherID, subscriptionID: Self.subscriptionID, identity: "Bob",
            remote: subscriber.offer, slots: slots, now: net.now)
        self.outgoing = outgoing
        try net.connect(subscriber, answer: subscriberAnswer)
    }

    /// For tests that subscribe by hand (`connect: false`).
    func setOutgoing(_ tracks: [OutgoingTrack]) { outgoing = tracks }

    var audioTrack: OutgoingTrack { outgoing.first { $0.kind == .audio }! }
    var videoTrack: OutgoingTrack { outgoing.first { $0.kind == .video }! }

    /// Sends one video frame from the publisher and lets the network deliver it.
    @discardableResult
    func sendVideoFrame(keyframe: Bool, packets: Int = 2) throws -> [VP8Stream.Packet] {
        let frame = video.frame(keyframe: keyframe, packets: packets)
        try sendVideo(frame)
        return frame
    }

    /// Sends packets as they are (some of a frame, reordered) and lets the network deliver them.
    func sendVideo(_ packets: [VP8Stream.Packet]) throws {
        for packet in packets {
            try publisher.transport.sendRTP(
                payloadType: video.payloadType, sequenceNumber: packet.sequenceNumber, timestamp: packet.timestamp,
                ssrc: video.ssrc, marker: packet.marker, payload: packet.payload,
                extensions: [(id: 9, data: Array("1".utf8))])
        }
        net.settle()
    }

    /// A keyframe and ten frames 33 ms apart: video is flowing and the connect-time keyframe
    /// request is past its throttle. The subscriber has 22 packets of the video track.
    func flowVideo() throws {
        try sendVideoFrame(keyframe: true)
        for _ in 0..<10 {
            net.advance(by: .milliseconds(33))
            try sendVideoFrame(keyframe: false)
        }
        try #require(subscriber.rtp(ssrc: videoTrack.ssrc).count == 22)
    }

    @discardableResult
    func sendAudio() throws -> VP8Stream.Packet {
        let packet = audio.next()
        try publisher.transport.sendRTP(
            payloadType: audio.payloadType, sequenceNumber: packet.sequenceNumber, timestamp: packet.timestamp,
            ssrc: audio.ssrc, payload: packet.payload, extensions: [(id: 9, data: Array("0".utf8))])
        net.settle()
        return packet
    }

    var roomState: RoomState? { core.roomState(Self.room) }
    var videoTrackState: TrackState? { roomState?.participants.first?.tracks.first { $0.kind == .video } }
    var audioTrackState: TrackState? { roomState?.participants.first?.tracks.first { $0.kind == .audio } }
}

/// True when a VP8 payload starts a keyframe (what the subscriber's decoder needs first).
func isVP8KeyframeStart(_ payload: [UInt8]) -> Bool {
    payload.withUnsafeBytes { VP8.isKeyframe($0) }
}
