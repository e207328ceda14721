// What the SFU tells Signaling without being asked: a participant's media ended on its own
// (consent lost, DTLS failed), so calls and other participants' sessions can follow.

public enum MediaEvent: Sendable, Equatable {
    case participantClosed(room: String, participantID: String, reason: String)
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
