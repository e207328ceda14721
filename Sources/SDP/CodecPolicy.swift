// Which codecs and how many m= sections of each kind Chorus accepts from an offer.

public struct CodecPolicy: Equatable, Sendable {
    /// Encoding names in preference order, compared case-insensitively with the rtpmap names
    /// (RFC 6838 §4.2: media subtype names are case-insensitive).
    public var audio: [String]
    public var video: [String]
    /// A WHIP publisher sends one audio and one video track and a WHEP player takes one of each
    /// (RFC 9725); further sections of that kind are rejected with port 0.
    public var maxAudioSections: Int
    public var maxVideoSections: Int

    public init(audio: [String] = ["opus"], video: [String] = ["VP8", "H264"], maxAudioSections: Int = 1, maxVideoSections: Int = 1) {
        self.audio = audio
        self.video = video
        self.maxAudioSections = maxAudioSections
        self.maxVideoSections = maxVideoSections
    }

    public static let `default` = CodecPolicy()

    package func codecs(for kind: MediaKind) -> [String] {
        kind == .audio ? audio : video
    }

    package func maxSections(for kind: MediaKind) -> Int {
        kind == .audio ? maxAudioSections : maxVideoSections
    }
}
