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

    public init(
        mid: String, kind: TrackKind, codecName: String, payloadType: UInt8, clockRate: UInt32,
        ssrc: UInt32? = nil, midExtensionID: UInt8? = nil
    ) {
        self.mid = mid
        self.kind = kind
        self.codecName = codecName
        self.payloadType = payloadType
        self.clockRate = clockRate
        self.ssrc = ssrc
        self.midExtensionID = midExtensionID
    }
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

    public init(mid: String, kind: TrackKind, ssrc: UInt32, cname: String, streamID: String, trackID: String) {
        self.mid = mid
        self.kind = kind
        self.ssrc = ssrc
        self.cname = cname
        self.streamID = streamID
        self.trackID = trackID
    }
}
