// The m= section media types Chorus forwards; everything else in an offer (application for
// data channels, text, message) is rejected with port 0 (RFC 3264 §6).

public enum MediaKind: String, Sendable, Hashable, CaseIterable {
    case audio, video
}
