// Translation between SDP negotiation results and the SFU's control API types: the one place
// where SDP vocabulary meets SFU vocabulary.

import ICE
import SFU
import SDP

extension TrackKind {
    init(_ kind: MediaKind) {
        switch kind {
        case .audio: self = .audio
        case .video: self = .video
        }
    }
}

extension NegotiatedOffer {
    var remoteTransport: RemoteTransportParameters {
        RemoteTransportParameters(
            ice: ICECredentials(ufrag: iceUfrag, pwd: icePwd),
            fingerprints: fingerprints.map { DTLSFingerprint(algorithm: $0.algorithm, bytes: $0.bytes) })
    }

    /// Sections the peer sends on (WHIP publishers).
    var sendingTracks: [TrackParameters] {
        media.filter { $0.offerDirection == .sendonly || $0.offerDirection == .sendrecv }.map(\.trackParameters)
    }

    /// Sections the peer receives on (WHEP subscribers).
    var receivingSlots: [TrackParameters] {
        media.filter { $0.offerDirection == .recvonly || $0.offerDirection == .sendrecv }.map(\.trackParameters)
    }
}

extension NegotiatedMedia {
    var trackParameters: TrackParameters {
        TrackParameters(
            mid: mid, kind: TrackKind(kind), codecName: codec.name, payloadType: codec.payloadType,
            clockRate: codec.clockRate, ssrc: ssrc, midExtensionID: headerExtensionID(HeaderExtension.sdesMID),
            rtxPayloadType: codec.rtxPayloadType, rtxSSRC: rtxSSRC, feedback: RTCPFeedback(codec.feedback),
            transportSequenceExtensionID: headerExtensionID(HeaderExtension.transportWideCC),
            absSendTimeExtensionID: headerExtensionID(HeaderExtension.absSendTime),
            audioLevelExtensionID: kind == .audio ? headerExtensionID(HeaderExtension.audioLevel) : nil,
            layers: simulcastLayers, ridExtensionID: headerExtensionID(HeaderExtension.rtpStreamID),
            repairedRIDExtensionID: headerExtensionID(HeaderExtension.repairedRTPStreamID),
            source: isSlides ? .screen : nil)
    }

    /// RID layers, or `a=ssrc-group:SIM` members (their RTX only when RTX was negotiated).
    private var simulcastLayers: [LayerParameters] {
        guard let simulcast else { return [] }
        if !simulcast.rids.isEmpty { return simulcast.rids.map { LayerParameters(rid: $0) } }
        return simulcast.ssrcs.map {
            LayerParameters(ssrc: $0.ssrc, rtxSSRC: codec.rtxPayloadType == nil ? nil : $0.rtxSSRC)
        }
    }
}

extension RTCPFeedback {
    /// From the kept `a=rtcp-fb` values of a codec.
    init(_ values: [String]) {
        self = []
        for value in values {
            switch value {
            case "nack": insert(.nack)
            case "nack pli": insert(.pli)
            case "ccm fir": insert(.fir)
            case "transport-cc": insert(.transportCC)
            case "goog-remb": insert(.remb)
            default: break
            }
        }
    }
}

extension LocalTransportDescription {
    var sdp: LocalTransport {
        LocalTransport(
            iceUfrag: ice.ufrag, icePwd: ice.pwd, fingerprintSHA256: fingerprint.hex,
            candidateIP: candidate.ipString, candidatePort: candidate.port, tcpCandidatePort: tcpCandidate?.port)
    }
}

extension OutgoingTrack {
    var sdp: OutgoingStream {
        OutgoingStream(ssrc: ssrc, cname: cname, streamID: streamID, trackID: trackID, rtxSSRC: rtxSSRC)
    }
}
