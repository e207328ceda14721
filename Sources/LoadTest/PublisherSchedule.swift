// When a publisher sends what: Opus every 20 ms, a VP8 frame every 1/fps whose packets a pacer
// spreads at 2.5x the video bitrate (libwebrtc's pacing factor), fresh RTP numbering, and a
// jump back to the clip's keyframe when the SFU asks for one. Sans-IO: time comes in. A
// simulcast publisher runs one per layer, audio in only one of them.

import RTP

public struct PublisherSchedule: Sendable {
    public struct Packet: Equatable, Sendable {
        public var isVideo: Bool
        /// Audio: index into `MediaClip.audio`. Video: index into `MediaClip.video`.
        public var clipIndex: Int
        /// Video: the packet within the frame.
        public var packetIndex: Int
        public var marker: Bool
        public var sequenceNumber: SequenceNumber
        public var timestamp: RTPTimestamp
        public var pictureID: UInt16
        /// When it was due (ns of `MonotonicTime`).
        public var due: UInt64
    }

    /// libwebrtc paces at 2.5x the target bitrate.
    public static let pacingFactor = 2.5
    /// Further behind than this, the schedule skips ahead instead of bursting to catch up, as
    /// a real sender drops frames when its CPU falls behind; `lagResets` counts it.
    public static let maxLag: UInt64 = 200_000_000

    static let audioInterval: UInt64 = 20_000_000
    static let audioTicksPerPacket: UInt32 = 960

    private let audioCount: Int
    private let sendsAudio: Bool
    /// Per clip frame: its packets' payload sizes.
    private let framePacketSizes: [[Int]]
    private let frameInterval: UInt64
    private let videoTicksPerFrame: UInt32
    private let nanosecondsPerByte: Double

    private let audioStart: UInt64
    private var audioNumber: UInt64 = 0
    private var audioSequence: SequenceNumber
    private let audioTimestampBase: RTPTimestamp

    private var videoStart: UInt64
    /// Frames begun so far: the RTP timestamp and PictureID follow it.
    private var frameNumber: UInt64 = 0
    private var clipFrame = 0
    private var packetIndex = 0
    private var pacerFree: UInt64
    private var videoSequence: SequenceNumber
    private let videoTimestampBase: RTPTimestamp
    private let pictureIDBase: UInt16
    private var keyframeRequested = false

    public private(set) var lagResets = 0
    public private(set) var keyframesForced = 0

    public init(clip: MediaClip, start: UInt64, seed: UInt64 = .random(in: 0...UInt64.max)) {
        self.init(clip: clip, videoLayer: nil, sendsAudio: true, start: start, seed: seed)
    }

    /// The schedule of simulcast layer `videoLayer` (an index into `clip.layers`; nil: the
    /// clip's only video), with or without the audio. A publisher's layers share `seed`, so
    /// their frames start in the same instant, as one encoder's layers of one camera frame do;
    /// their numbering differs (one SSRC each, RFC 3550 §5.1).
    public init(clip: MediaClip, videoLayer: Int?, sendsAudio: Bool, start: UInt64, seed: UInt64 = .random(in: 0...UInt64.max)) {
        var generator = SplitMix64(seed: seed)
        audioCount = clip.audio.count
        self.sendsAudio = sendsAudio
        let frames = videoLayer.map { clip.layers[$0].frames } ?? clip.video
        let kilobits = videoLayer.map { clip.layers[$0].kilobitsPerSecond } ?? clip.settings.videoKilobitsPerSecond
        framePacketSizes = frames.map { $0.packets.map(\.payload.count) }
        frameInterval = 1_000_000_000 / UInt64(clip.settings.framesPerSecond)
        videoTicksPerFrame = UInt32(90_000 / clip.settings.framesPerSecond)
        // Each layer is paced at 2.5x its own bitrate (libwebrtc paces the sum of its layers).
        nanosecondsPerByte = 8e9 / (Double(kilobits) * 1000 * Self.pacingFactor)
        // Random starting points (RFC 3550 §5.1) and a random phase, so publishers do not all
        // send in the same millisecond.
        audioStart = start + generator.next() % Self.audioInterval
        videoStart = start + generator.next() % frameInterval
        pacerFree = videoStart
        if let videoLayer { generator = SplitMix64(seed: seed &+ UInt64(videoLayer + 1) &* 0x9E37_79B9_7F4A_7C15) }
        audioSequence = SequenceNumber(UInt16(truncatingIfNeeded: generator.next()))
        videoSequence = SequenceNumber(UInt16(truncatingIfNeeded: generator.next()))
        audioTimestampBase = RTPTimestamp(UInt32(truncatingIfNeeded: generator.next()))
        videoTimestampBase = RTPTimestamp(UInt32(truncatingIfNeeded: generator.next()))
        pictureIDBase = UInt16(truncatingIfNeeded: generator.next()) & 0x7FFF
    }

    private var nextAudio: UInt64 { sendsAudio ? audioStart + audioNumber * Self.audioInterval : .max }
    private var nextVideo: UInt64 {
        packetIndex == 0 ? Swift.max(videoStart + frameNumber * frameInterval, pacerFree) : pacerFree
    }

    /// When the next packet is due.
    public var nextDue: UInt64 { Swift.min(nextAudio, nextVideo) }

    /// The SFU asked for a keyframe (PLI/FIR): the next frame begun is the clip's first.
    public mutating func requestKeyframe() {
        keyframeRequested = true
    }

    /// The next packet due at `now`, nil when none is; call until nil.
    public mutating func next(now: UInt64) -> Packet? {
        skipAheadIfFarBehind(now: now)
        let audioDue = nextAudio
        let videoDue = nextVideo
        if audioDue <= now && audioDue <= videoDue {
            let packet = Packet(
                isVideo: false, clipIndex: Int(audioNumber % UInt64(audioCount)), packetIndex: 0, marker: false,
                sequenceNumber: audioSequence, timestamp: audioTimestampBase &+ UInt32(truncatingIfNeeded: audioNumber) &* Self.audioTicksPerPacket,
                pictureID: 0, due: audioDue)
            audioNumber += 1
            audioSequence = audioSequence &+ 1
            return packet
        }
        guard videoDue <= now else { return nil }
        if packetIndex == 0 && keyframeRequested {
            keyframeRequested = false
            if clipFrame != 0 { keyframesForced += 1 }
            clipFrame = 0
        }
        let sizes = framePacketSizes[clipFrame]
        let last = packetIndex == sizes.count - 1
        let packet = Packet(
            isVideo: true, clipIndex: clipFrame, packetIndex: packetIndex, marker: last, sequenceNumber: videoSequence,
            timestamp: videoTimestampBase &+ UInt32(truncatingIfNeeded: frameNumber) &* videoTicksPerFrame,
            pictureID: (pictureIDBase &+ UInt16(truncatingIfNeeded: frameNumber)) & 0x7FFF, due: videoDue)
        videoSequence = videoSequence &+ 1
        // The pacer is busy for this packet's bytes from when it was due (not from `now`, so a
        // late loop does not stretch the schedule).
        pacerFree = videoDue + UInt64(Double(sizes[packetIndex]) * nanosecondsPerByte)
        if last {
            packetIndex = 0
            frameNumber += 1
            clipFrame = (clipFrame + 1) % framePacketSizes.count
        } else {
            packetIndex += 1
        }
        return packet
    }

    private mutating func skipAheadIfFarBehind(now: UInt64) {
        if sendsAudio, now > nextAudio + Self.maxLag {
            audioNumber = (now - audioStart) / Self.audioInterval
            lagResets += 1
        }
        if packetIndex == 0, now > nextVideo + Self.maxLag {
            // Whole frames are skipped; sequence numbers stay contiguous (nothing was sent).
            let missed = (now - videoStart) / frameInterval - frameNumber
            frameNumber += missed
            clipFrame = (clipFrame + Int(missed % UInt64(framePacketSizes.count))) % framePacketSizes.count
            pacerFree = videoStart + frameNumber * frameInterval
            lagResets += 1
        }
    }
}

/// A tiny seeded generator (Steele, Lea, Flood 2014) for reproducible starting points in tests.
struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
