// What a published track shows: the publisher's microphone or camera, or its screen. The
// bandwidth allocator serves a screen share first (issue 14); clients lay it out large.

public enum TrackSource: String, Sendable, Hashable, Codable, CaseIterable {
    case microphone
    case camera
    /// A shared screen or window: marked by the group protocol (`sfu-offer`'s `screenShare`)
    /// or by RFC 4796 `a=content:slides` on the publisher's m-line.
    case screen

    /// What a track of this kind shows when nothing says otherwise.
    public static func `default`(for kind: TrackKind) -> TrackSource { kind == .audio ? .microphone : .camera }
}
