// Audio or video: what mute, keyframe handling and clock rates depend on.

public enum TrackKind: String, Sendable, Hashable, Codable, CaseIterable {
    case audio
    case video
}
