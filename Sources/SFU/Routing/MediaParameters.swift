// What the SFU needs to know about a negotiated m-line: Signaling turns SDP into these, and
// nothing about SDP text crosses into the SFU.

import ICE

public struct TrackParameters: Sendable, Equatable {
    public var mid: String
    public var kind: TrackKind
    /// Codec name as in `a=rtpmap` ("opus", "VP8", "H264").
    public var codecName: String
    public var payloadType: UInt8
    public var clockRate: UInt32
    /// The SSRC the publisher announced (`a=ssrc`); nil when only the MID extension tells.
    public var ssrc: UInt32?
    /// Id of `urn:ietf:params:rtp-hdrext:sdes:mid` in this peer's session, if negotiated.
    public var midExtensionID: UInt8?
    /// The RTX payload type (RFC 4588, `apt` = `payloadType`) this peer negotiated, if any.
    public var rtxPayloadType: UInt8?
    /// The publisher's RTX SSRC from `a=ssrc-group:FID` (else learnt from the first RTX packet).
    public var rtxSSRC: UInt32?
    /// The RTCP feedback this peer negotiated for the codec.
    public var feedback: RTCPFeedback
    /// Id of the transport-wide sequence number extension in this peer's session, if negotiated.
    public var transportSequenceExtensionID: UInt8?
    /// Id of abs-send-time in this peer's session, if negotiated: send times for REMB.
    public var absSendTimeExtensionID: UInt8?
    /// Id of the RFC 6464 audio level extension in this peer's session, if negotiated.
    public var audioLevelExtensionID: UInt8?
    /// A simulcast publisher's layers, lowest first (empty: one stream, `ssrc` and `rtxSSRC`).
    public var layers: [LayerParameters]
    /// Ids of the RID and repaired-RID extensions (RFC 8852) that name a layer's new SSRC.
    public var ridExtensionID: UInt8?
    public var repairedRIDExtensionID: UInt8?
    /// Microphone, camera or screen share (the allocator serves a screen share first).
    public var source: TrackSource

    public init(
        mid: String, kind: TrackKind, codecName: String, payloadType: UInt8, clockRate: UInt32,
        ssrc: UInt32? = nil, midExtensionID: UInt8? = nil, rtxPayloadType: UInt8? = nil, rtxSSRC: UInt32? = nil,
        feedback: RTCPFeedback = [.nack, .pli], transportSequenceExtensionID: UInt8? = nil,
        absSendTimeExtensionID: UInt8? = nil, audioLevelExtensionID: UInt8? = nil,
        layers: [LayerParameters] = [], ridExtensionID: UInt8? = nil, repairedRIDExtensionID: UInt8? = nil,
        source: TrackSource? = nil
    ) {
        self.source = source ?? .default(for: kind)
        self.layers = layers
        self.ridExtensionID = ridExtensionID
        self.repairedRIDExtensionID = repairedRIDExtensionID
        self.mid = mid
        self.kind = kind
        self.codecName = codecName
        self.payloadType = payloadType
        self.clockRate = clockRate
        self.ssrc = ssrc
        self.midExtensionID = midExtensionID
        self.rtxPayloadType = rtxPayloadType
        self.rtxSSRC = rtxSSRC
        self.feedback = feedback
        self.transportSequenceExtensionID = transportSequenceExtensionID
        self.absSendTimeExtensionID = absSendTimeExtensionID
        self.audioLevelExtensionID = audioLevelExtensionID
    }
}

/// One simulcast layer as the SDP announced it: by RID (its SSRCs come with its first packets)
/// or by SSRC (`a=ssrc-group:SIM`, with its `FID` RTX SSRC).
public struct LayerParameters: Sendable, Equatable {
    public var rid: String?
    public var ssrc: UInt32?
    public var rtxSSRC: UInt32?

    public init(rid: String? = nil, ssrc: UInt32? = nil, rtxSSRC: UInt32? = nil) {
        self.rid = rid
        self.ssrc = ssrc
        self.rtxSSRC = rtxSSRC
    }
}

/// The RTCP feedback (RFC 4585 §4.2 `a=rtcp-fb`) a peer negotiated: what it sends and answers.
public struct RTCPFeedback: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Generic NACK (RFC 4585 §6.2.1).
    public static let nack = RTCPFeedback(rawValue: 1 << 0)
    /// Picture loss indication (`nack pli`, RFC 4585 §6.3.1).
    public static let pli = RTCPFeedback(rawValue: 1 << 1)
    /// Full intra request (`ccm fir`, RFC 5104 §3.5.1).
    public static let fir = RTCPFeedback(rawValue: 1 << 2)
    /// Transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc).
    public static let transportCC = RTCPFeedback(rawValue: 1 << 3)
    /// Receiver estimated maximum bitrate (`goog-remb`).
    public static let remb = RTCPFeedback(rawValue: 1 << 4)
}

/// The remote side of a transport as its SDP offer describes it.
public struct RemoteTransportParameters: Sendable, Equatable {
    public var ice: ICECredentials
    public var fingerprints: [DTLSFingerprint]

    public init(ice: ICECredentials, fingerprints: [DTLSFingerprint]) {
        self.ice = ice
        self.fingerprints = fingerprints
    }
}

/// What Signaling puts into the SDP answer for a transport.
public struct LocalTransportDescription: Sendable, Equatable {
    public var ice: ICECredentials
    public var fingerprint: DTLSFingerprint
    public var candidate: TransportAddress
    /// The worker's ICE-TCP passive candidate (same IP, its TCP port), when it listens on one.
    public var tcpCandidate: TransportAddress? = nil
}

/// One stream the SFU sends to a subscriber: announced in the answer with `a=ssrc`/`a=msid`.
public struct OutgoingTrack: Sendable, Equatable {
    public var mid: String
    public var kind: TrackKind
    public var ssrc: UInt32
    public var cname: String
    public var streamID: String
    public var trackID: String
    /// Our RTX SSRC for this stream (announced with `a=ssrc-group:FID`), when the subscriber
    /// negotiated RTX: retransmissions go there.
    public var rtxSSRC: UInt32?

    public init(mid: String, kind: TrackKind, ssrc: UInt32, cname: String, streamID: String, trackID: String, rtxSSRC: UInt32? = nil) {
        self.mid = mid
        self.kind = kind
        self.ssrc = ssrc
        self.cname = cname
        self.streamID = streamID
        self.trackID = trackID
        self.rtxSSRC = rtxSSRC
    }
}
