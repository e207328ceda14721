// The media every publisher replays: a short Opus and VP8 clip encoded once at start, already
// packetized into RTP payloads with room for the send-time trailer. Publishers share it; each
// sends it with its own fresh headers (SSRC, sequence numbers, timestamps, PictureIDs). With
// `simulcast` the video is also encoded at the lower sizes of `SimulcastLayout`, one more
// stream each.

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
    /// `--simulcast`: publishers send the `SimulcastLayout` layers, the full one being `video`.
    public var simulcast = false

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

/// One simulcast layer's video: the same frames as the clip's, at the layer's size and bitrate.
public struct ClipVideoLayer: Equatable, Sendable {
    public var rid: String
    public var width: Int
    public var height: Int
    public var kilobitsPerSecond: Int
    public var frames: [ClipVideoFrame]
}

public struct MediaClip: Sendable {
    public let settings: ClipSettings
    /// One packet per 20 ms, each an Opus packet padded for the trailer.
    public let audio: [ClipPacket]
    /// The full-size video: the only stream without simulcast, the top layer with it.
    public let video: [ClipVideoFrame]
    /// With simulcast, every layer lowest first (the last is `video`); empty without.
    public let layers: [ClipVideoLayer]
    public let encodeSeconds: Double

    public init(
        settings: ClipSettings, audio: [ClipPacket], video: [ClipVideoFrame], layers: [ClipVideoLayer] = [],
        encodeSeconds: Double = 0
    ) {
        precondition(!audio.isEmpty && !video.isEmpty && video[0].isKeyframe, "a clip starts with a keyframe")
        precondition(layers.allSatisfy { $0.frames.count == video.count && $0.frames[0].isKeyframe }, "layers loop with the clip")
        self.settings = settings
        self.audio = audio
        self.video = video
        self.layers = layers
        self.encodeSeconds = encodeSeconds
    }

    public static func encode(_ settings: ClipSettings) throws(LoadTestError) -> MediaClip {
        let started = MonotonicTime.now()
        let opus = try OpusClipEncoder.encode(packets: settings.audioPacketCount, bitsPerSecond: settings.audioBitsPerSecond)
        var audio: [ClipPacket] = []
        for packet in opus {
            audio.append(ClipPacket(payload: try OpusPadding.pad(packet, padding: SendTimeTrailer.length), hasTrailer: true))
        }
        let video = try encodeVideo(settings, kilobitsPerSecond: settings.videoKilobitsPerSecond, scaleDown: 1)
        var layers: [ClipVideoLayer] = []
        if settings.simulcast {
            for spec in SimulcastLayout.layers {
                let size = SimulcastLayout.size(of: spec, width: settings.width, height: settings.height)
                let kilobits = spec.scaleDown == 1
                    ? settings.videoKilobitsPerSecond
                    : SimulcastLayout.kilobitsPerSecond(of: spec, full: settings.videoKilobitsPerSecond)
                // The full layer is the single-layer clip itself, so that a simulcast run and a
                // single-layer one forward the very same top stream.
                let frames = spec.scaleDown == 1 ? video : try encodeVideo(settings, kilobitsPerSecond: kilobits, scaleDown: spec.scaleDown)
                layers.append(ClipVideoLayer(rid: spec.rid, width: size.width, height: size.height, kilobitsPerSecond: kilobits, frames: frames))
            }
        }
        return MediaClip(
            settings: settings, audio: audio, video: video, layers: layers,
            encodeSeconds: MonotonicTime.seconds(MonotonicTime.now() - started))
    }

    /// The pattern encoded with libvpx at 1/`scaleDown` of the clip's size and packetized.
    private static func encodeVideo(_ settings: ClipSettings, kilobitsPerSecond: Int, scaleDown: Int) throws(LoadTestError) -> [ClipVideoFrame] {
        let frames = try VP8ClipEncoder.encode(
            frames: settings.frameCount, pattern: TestPattern(width: settings.width, height: settings.height),
            framesPerSecond: settings.framesPerSecond, kilobitsPerSecond: kilobitsPerSecond,
            keyframeInterval: settings.frameCount, scaleDown: scaleDown)
        let packetizer = VP8Packetizer(maxPayloadSize: settings.maxPayloadSize)
        return frames.map { frame in
            let payloads = packetizer.packetize(frame: frame.bytes, reserve: SendTimeTrailer.length)
            return ClipVideoFrame(
                packets: payloads.enumerated().map { ClipPacket(payload: $1, hasTrailer: $0 == payloads.count - 1) },
                isKeyframe: frame.isKeyframe, encodedSize: frame.bytes.count)
        }
    }

    public var clipSeconds: Double { Double(video.count) / Double(settings.framesPerSecond) }
    public var videoPacketsPerSecond: Double { Self.packetsPerSecond(video, clipSeconds) }
    /// Video packets per second of simulcast layer `layer` (of the full video without simulcast).
    public func videoPacketsPerSecond(layer: Int) -> Double {
        layers.isEmpty ? videoPacketsPerSecond : Self.packetsPerSecond(layers[layer].frames, clipSeconds)
    }
    /// Encoded VP8 bits per second of one layer (without RTP overhead).
    public func videoBitsPerSecond(layer: Int) -> Double {
        Double(layers[layer].frames.reduce(0) { $0 + $1.encodedSize }) * 8 / clipSeconds
    }
    private static func packetsPerSecond(_ frames: [ClipVideoFrame], _ seconds: Double) -> Double {
        Double(frames.reduce(0) { $0 + $1.packets.count }) / seconds
    }
    public var audioPacketsPerSecond: Double { Double(audio.count) / (Double(audio.count) * 0.02) }
    /// Encoded VP8 bits per second (without RTP overhead).
    public var videoBitsPerSecond: Double { Double(video.reduce(0) { $0 + $1.encodedSize }) * 8 / clipSeconds }
    public var audioBitsPerSecond: Double { Double(audio.reduce(0) { $0 + $1.payload.count }) * 8 / (Double(audio.count) * 0.02) }
    public var keyframeBytes: Int { video.first { $0.isKeyframe }?.encodedSize ?? 0 }
    /// RTP packets per second of audio and the full video: what one publisher sends without
    /// simulcast, and what a subscription to it receives.
    public var packetsPerSecond: Double { videoPacketsPerSecond + audioPacketsPerSecond }
}
