// What the SFU puts in its answer about itself: its ICE-lite credentials, its DTLS certificate
// fingerprint, the one host candidate it announces, and the streams it sends per m= section.

public struct LocalTransport: Equatable, Sendable {
    public var iceUfrag: String
    public var icePwd: String
    /// SHA-256 fingerprint of the SFU's DTLS certificate, "AB:CD:..." uppercase hex.
    public var fingerprintSHA256: String
    /// The address peers reach the SFU on; a ':' marks IPv6. Only this one is announced:
    /// Chromium pairs with whatever candidate it is given, so a second, unreachable one would
    /// only cost it checks.
    public var candidateIP: String
    public var candidatePort: UInt16

    public init(iceUfrag: String, icePwd: String, fingerprintSHA256: String, candidateIP: String, candidatePort: UInt16) {
        self.iceUfrag = iceUfrag
        self.icePwd = icePwd
        self.fingerprintSHA256 = fingerprintSHA256
        self.candidateIP = candidateIP
        self.candidatePort = candidatePort
    }

    package var addressType: String { candidateIP.contains(":") ? "IP6" : "IP4" }
}

/// A stream the SFU sends on an m= section, announced so the receiver can match SSRC to track
/// (RFC 5576 §4.1, RFC 8830 §2).
public struct OutgoingStream: Equatable, Sendable {
    public var ssrc: UInt32
    public var cname: String
    public var streamID: String
    public var trackID: String
    /// Our RTX SSRC for it, announced with `a=ssrc-group:FID` when the section carries RTX.
    public var rtxSSRC: UInt32?

    public init(ssrc: UInt32, cname: String, streamID: String, trackID: String, rtxSSRC: UInt32? = nil) {
        self.ssrc = ssrc
        self.cname = cname
        self.streamID = streamID
        self.trackID = trackID
        self.rtxSSRC = rtxSSRC
    }
}
