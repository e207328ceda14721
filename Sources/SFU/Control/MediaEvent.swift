// What the SFU tells Signaling without being asked: a participant's media ended on its own
// (consent lost, DTLS failed), so calls and other participants' sessions can follow; who
// speaks in a room (SpeakerDetector).

public enum MediaEvent: Sendable, Equatable {
    case participantClosed(room: String, participantID: String, reason: String)
    /// The room's dominant speaker changed (nil: the last one left and nobody speaks).
    case activeSpeaker(room: String, participantID: String?)
    /// Twice a second while anyone is audible (and once when the last one falls silent): the
    /// loudest few, loudest first.
    case audioLevels(room: String, levels: [AudioLevel])
    /// The bandwidth allocator paused (or resumed) one publisher's video for one subscriber: its
    /// downlink estimate did not fit even the lowest layer beside its audio and the videos that
    /// come first. `subscriberID` is the receiving group participant (or WHEP subscription);
    /// `trackID` the paused producer (a publisher's camera and screen share pause apart).
    case videoPaused(room: String, subscriberID: String, publisherID: String, trackID: String, source: TrackSource, paused: Bool)
}

/// A participant's voice activity: the smoothed share of its audio packets that carried speech
/// (0-1), from the levels its publisher reports (RFC 6464).
public struct AudioLevel: Sendable, Equatable, Codable {
    public var participantID: String
    public var level: Double

    public init(participantID: String, level: Double) {
        self.participantID = participantID
        self.level = level
    }
}

/// One track a group-call participant receives on its own transport: which producer, on which
/// m-line (mid), with the SSRC, payload type and MID extension id announced in that m-line.
public struct ConsumerRequest: Sendable, Equatable {
    public var track: OutgoingTrack
    public var producerID: String
    public var payloadType: UInt8
    public var midExtensionID: UInt8?
    /// The subscriber's RTX payload type for the codec (with `track.rtxSSRC`), if negotiated.
    public var rtxPayloadType: UInt8?
    public var transportSequenceExtensionID: UInt8?

    public init(
        track: OutgoingTrack, producerID: String, payloadType: UInt8, midExtensionID: UInt8?,
        rtxPayloadType: UInt8? = nil, transportSequenceExtensionID: UInt8? = nil
    ) {
        self.track = track
        self.producerID = producerID
        self.payloadType = payloadType
        self.midExtensionID = midExtensionID
        self.rtxPayloadType = rtxPayloadType
        self.transportSequenceExtensionID = transportSequenceExtensionID
    }
}
