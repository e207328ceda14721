// What the SFU puts in its answer about itself: its ICE-lite credentials, its DTLS certificate
// fingerprint, its host candidates (UDP, and ICE-TCP passive when it listens on TCP), and the
// streams it sends per m= section.

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
    /// The TCP port of an ICE-TCP passive candidate at `candidateIP` (RFC 6544), for peers
    /// whose UDP is blocked; nil announces UDP only.
    public var tcpCandidatePort: UInt16?

    public init(
        iceUfrag: String, icePwd: String, fingerprintSHA256: String, candidateIP: String, candidatePort: UInt16,
        tcpCandidatePort: UInt16? = nil
    ) {
        self.iceUfrag = iceUfrag
        self.icePwd = icePwd
        self.fingerprintSHA256 = fingerprintSHA256
        self.candidateIP = candidateIP
        self.candidatePort = candidatePort
        self.tcpCandidatePort = tcpCandidatePort
    }

    package var addressType: String { candidateIP.contains(":") ? "IP6" : "IP4" }

    /// The UDP host candidate: the highest type preference (RFC 8445 §5.1.2.1), local
    /// preference 65535, component 1.
    package static let udpPriority: UInt32 = 126 << 24 | 65535 << 8 | 255
    /// The TCP passive host candidate, below UDP so that a peer with both pairs working picks
    /// UDP (TCP's retransmissions and head-of-line blocking hurt media): RFC 6544 §4.2 local
    /// preference with direction-pref 4 (passive, host) and other-pref 8191.
    package static let tcpPriority: UInt32 = 126 << 24 | (4 << 13 | 8191) << 8 | 255

    /// The `a=candidate` values an ICE-lite agent announces, all at once (RFC 8445 §2.5).
    package var candidateAttributes: [String] {
        var values = ["1 1 udp \(Self.udpPriority) \(candidateIP) \(candidatePort) typ host"]
        if let tcpCandidatePort {
            values.append("2 1 tcp \(Self.tcpPriority) \(candidateIP) \(tcpCandidatePort) typ host tcptype passive")
        }
        return values
    }
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
