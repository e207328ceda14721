// The media every publisher replays: a short Opus and VP8 clip encoded once at start, already
// packetized into RTP payloads with room for the send-time trailer. Publishers share it; each
// sends it with its own fresh headers (SSRC, sequence numbers, timestamps, PictureIDs).

public struct ClipSettings: Equatable, Sendable, Codable {
    public var width = 640
    public var height = 360
    public var framesPerSecond = 30
    public var videoKilobitsPerSecond = 1500
    /// Clip length and keyframe interval: the clip loops on its only keyframe.
    public var seconds = 2
    public var audioBitsPerSecond = 32_000
    /// Largest RTP payload: with a 12-byte header, the 8-byte MID extension and a 16-byte SRTP
    /// tag a packet stays under 1200 bytes, libwebrtc's budget.
    public var maxPayloadSize = 1160

    public init() {}

    public var frameCount: Int { seconds * framesPerSecond }
    public var audioPacketCount: Int { seconds * 50 }
}

public struct ClipPacket: Equatable, Sendable {
    /// The RTP payload; when `hasTrailer`, its last `SendTimeTrailer.length` bytes are the slot
    /// for the trailer.
    public var payload: [UInt8]
    public var hasTrailer: Bool
}

public struct ClipVideoFrame: Equatable, Sendable {
    public var packets: [ClipPacket]
    public var isKeyframe: Bool
    public var encodedSize: Int
}

public struct MediaClip: Sendable {
    public let settings: ClipSettings
    /// One packet per 20 ms, each an Opus packet padded for the trailer.
    public let audio: [ClipPacket]
    public let video: [ClipVideoFrame]
    public let encodeSeconds: Double

    public init(settings: ClipSettings, audio: [ClipPacket], video: [ClipVideoFrame], encodeSeconds: Double = 0) {
        precondition(!audio.isEmpty && !video.isEmpty && video[0].isKeyframe, "a clip starts with a keyframe")
        self.settings = settings
        self.audio = audio
        self.video = video
        self.encodeSeconds = encodeSeconds
    }

    public static func encode(_ settings: ClipSettings) throws(LoadTestError) -> MediaClip {
        let started = MonotonicTime.now()
        let opus = try OpusClipEncoder.encode(packets: settings.audioPacketCount, bitsPerSecond: settings.audioBitsPerSecond)
        var audio: [ClipPacket] = []
        for packet in opus {
            audio.append(ClipPacket(payload: try OpusPadding.pad(packet, padding: SendTimeTrailer.length), hasTrailer: true))
        }
        let frames = try VP8ClipEncoder.encode(
            frames: settings.frameCount, pattern: TestPattern(width: settings.width, height: settings.height),
            framesPerSecond: settings.framesPerSecond, kilobitsPerSecond: settings.videoKilobitsPerSecond,
            keyframeInterval: settings.frameCount)
        let packetizer = VP8Packetizer(maxPayloadSize: settings.maxPayloadSize)
        let video = frames.map { frame in
            let payloads = packetizer.packetize(frame: frame.bytes, reserve: SendTimeTrailer.length)
            return ClipVideoFrame(
                packets: payloads.enumerated().map { ClipPacket(payload: $1, hasTrailer: $0 == payloads.count - 1) },
                isKeyframe: frame.isKeyframe, encodedSize: frame.bytes.count)
        }
        return MediaClip(
            settings: settings, audio: audio, video: video,
            encodeSeconds: MonotonicTime.seconds(MonotonicTime.now() - started))
    }

    public var clipSeconds: Double { Double(video.count) / Double(settings.framesPerSecond) }
    public var videoPacketsPerSecond: Double { Double(video.reduce(0) { $0 + $1.packets.count }) / clipSeconds }
    public var audioPacketsPerSecond: Double { Double(audio.count) / (Double(audio.count) * 0.02) }
    /// Encoded VP8 bits per second (without RTP overhead).
    public var videoBitsPerSecond: Double { Double(video.reduce(0) { $0 + $1.encodedSize }) * 8 / clipSeconds }
    public var audioBitsPerSecond: Double { Double(audio.reduce(0) { $0 + $1.payload.count }) * 8 / (Double(audio.count) * 0.02) }
    public var keyframeBytes: Int { video.first { $0.isKeyframe }?.encodedSize ?? 0 }
    /// RTP packets one publisher sends per second, both kinds.
    public var packetsPerSecond: Double { videoPacketsPerSecond + audioPacketsPerSecond }
}
