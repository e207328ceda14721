// One m= section of a group-call participant's session with the SFU, and what it carries: the
// participant's own track (Chorus receives), another participant's track (Chorus sends), nothing
// yet, or nothing any more (port 0; m-lines are never removed, RFC 3264 §8).

package struct GroupSection: Equatable, Sendable {
    package enum Role: Equatable, Sendable {
        /// The participant sends on it: a producer. Chorus says recvonly.
        case publishing
        /// The participant's own m-line that sends nothing (a recvonly transceiver without a
        /// device). Chorus says inactive: it only forwards on m-lines it added itself.
        case idle
        /// Chorus sends another participant's track on it: a consumer. Chorus says sendonly.
        case forwarding(ForwardedTrack)
        /// Disabled with port 0: rejected, or its track is gone.
        case closed
    }

    package var mid: String
    /// "audio", "video", or whatever kind a rejected section had.
    package var kindText: String
    package var proto: String
    /// The first format of the m= line, for the port-0 form.
    package var format: String?
    /// Nil for sections Chorus does not negotiate (closed from the start).
    package var codec: NegotiatedCodec?
    package var extensions: [HeaderExtension]
    package var rtcpReducedSize: Bool
    package var role: Role
    /// The RIDs (RFC 8851) of the layers the participant sends on a publishing section, lowest
    /// first; empty for one stream. Every description Chorus writes repeats them as
    /// `a=simulcast:recv`, since a browser drops the layers a remote description leaves out.
    package var rids: [String] = []

    package var kind: MediaKind? { MediaKind(rawValue: kindText) }

    package var forwarded: ForwardedTrack? {
        if case .forwarding(let track) = role { return track }
        return nil
    }

    package var isClosed: Bool { role == .closed }
}

/// Another participant's track as one session forwards it.
package struct ForwardedTrack: Equatable, Sendable {
    package var producerID: String
    package var userID: String
    package var stream: OutgoingStream
}

/// A track a session should receive: some other participant's producer, with the codec that
/// participant negotiated (no transcoding: the receiver gets what the sender sends).
package struct WantedTrack: Equatable, Sendable {
    package var producerID: String
    package var userID: String
    /// msid stream id (RFC 8830): one per sending participant, so a browser groups that
    /// participant's audio and video into one MediaStream.
    package var streamID: String
    package var kind: MediaKind
    package var codec: NegotiatedCodec

    package init(producerID: String, userID: String, streamID: String, kind: MediaKind, codec: NegotiatedCodec) {
        self.producerID = producerID
        self.userID = userID
        self.streamID = streamID
        self.kind = kind
        self.codec = codec
    }
}

public enum GroupSessionError: Error, Equatable, Sendable {
    case badSDP(String)
    /// An offer with fewer m= sections than negotiated, or a section's mid changed (RFC 3264 §8:
    /// sections are never removed or reordered).
    case sectionsChanged(String)
    /// An answer with no offer of Chorus's outstanding.
    case noOfferPending
    /// The peer changed its ICE credentials (an ICE restart): Chorus asks for a new connection.
    case iceRestart
}
