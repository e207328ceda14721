// What a subscriber may ask of a simulcast track: which spatial layer (0 is the lowest of the
// three a browser sends) and the highest VP8 temporal layer. The WHEP route and the group
// protocol's `sfu-layers` check against the same ranges.

enum LayerPreference {
    /// Chromium and Firefox send at most three simulcast encodings; a request above what a
    /// track has is capped to its highest layer by the SFU.
    static let spatial = 0...2
    /// VP8 carries up to four temporal layers (TID, RFC 7741 §4.2).
    static let temporal = 0...3
}
