// The offers a load-test peer sends: what a browser's WHIP publisher and WHEP player would offer,
// trimmed to what Chorus negotiates (RFC 8829): BUNDLE, rtcp-mux, the MID header extension,
// Opus 48000/2 and VP8 90000, ICE credentials, the DTLS fingerprint and setup:actpass. A
// simulcast publisher's video section is Chromium's: RID layers (RFC 8851, 8853) and no a=ssrc.

import ICE
import SFU

/// Payload types, mids and the MID extension id the offers use, as Chrome numbers them.
public enum OfferFormat {
    public static let audioPayloadType: UInt8 = 111
    public static let videoPayloadType: UInt8 = 96
    public static let audioMID = "0"
    public static let videoMID = "1"
    /// RFC 8843 §15: `urn:ietf:params:rtp-hdrext:sdes:mid`.
    public static let midExtensionID: UInt8 = 4
    public static let midExtensionURI = "urn:ietf:params:rtp-hdrext:sdes:mid"
    /// RFC 8852 §3.1 and §3.2, with Chromium's ids (../shared/fixtures/chromium156-simulcast-offer.sdp).
    public static let ridExtensionID: UInt8 = 10
    public static let ridExtensionURI = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
    public static let repairedRIDExtensionID: UInt8 = 11
    public static let repairedRIDExtensionURI = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"
    /// The transport-wide sequence number (draft-holmer-rmcat-transport-wide-cc-extensions-01),
    /// Chromium's id.
    public static let transportSequenceExtensionID: UInt8 = 3
    public static let transportSequenceExtensionURI = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
}

public struct SDPOffer: Sendable {
    public var ice: ICECredentials
    public var fingerprint: DTLSFingerprint
    /// Our UDP socket; offered as the one host candidate (the offer is not trickled).
    public var localPort: UInt16
    public var sessionID: UInt64
    /// RFC 8842 §5.2: an offerer says actpass and Chorus answers passive; Janus answers an
    /// actpass offer active, so against Janus the offer says active. Either way the peer is
    /// the DTLS client, as ClientTransport always is.
    public var dtlsSetup = "actpass"

    public init(ice: ICECredentials, fingerprint: DTLSFingerprint, localPort: UInt16, sessionID: UInt64 = .random(in: 1...(1 << 62))) {
        self.ice = ice
        self.fingerprint = fingerprint
        self.localPort = localPort
        self.sessionID = sessionID
    }

    /// A WHIP offer: sendonly Opus and VP8 with their SSRCs (RFC 5576), so the SFU can map
    /// packets to tracks before it has seen a MID extension.
    public func publish(audioSSRC: UInt32, videoSSRC: UInt32, cname: String) -> String {
        let stream = "loadtest-" + cname
        return session(stream: stream) + [
            section(kind: "audio", direction: "sendonly", source: (audioSSRC, cname, stream, "audio")),
            section(kind: "video", direction: "sendonly", source: (videoSSRC, cname, stream, "video")),
        ].joined()
    }

    /// A WHIP offer with RID simulcast video, as Chromium writes it: one `a=rid:<id> send` per
    /// layer, lowest first, `a=simulcast:send q;h;f`, the RID and repaired-RID extensions, and
    /// no video `a=ssrc` (the SFU learns each layer's SSRC from the RID in its first packets).
    /// The audio still names its SSRC.
    public func publish(audioSSRC: UInt32, simulcastRIDs rids: [String], cname: String) -> String {
        precondition(!rids.isEmpty, "simulcast needs layers")
        let stream = "loadtest-" + cname
        return session(stream: stream) + [
            section(kind: "audio", direction: "sendonly", source: (audioSSRC, cname, stream, "audio")),
            section(kind: "video", direction: "sendonly", source: nil, msid: (stream, "video"), rids: rids),
        ].joined()
    }

    /// A WHEP offer: recvonly Opus and VP8; the answer names the SSRCs the SFU will send.
    /// `transportCC`: also the transport-wide sequence number and `transport-cc` feedback, as a
    /// browser offers them, so that Chorus estimates this subscriber's downlink.
    public func subscribe(transportCC: Bool = false) -> String {
        session(stream: nil) + section(kind: "audio", direction: "recvonly", source: nil, transportCC: transportCC)
            + section(kind: "video", direction: "recvonly", source: nil, transportCC: transportCC)
    }

    private func session(stream: String?) -> String {
        var lines = [
            "v=0",
            "o=- \(sessionID) 2 IN IP4 127.0.0.1",
            "s=-",
            "t=0 0",
            "a=group:BUNDLE \(OfferFormat.audioMID) \(OfferFormat.videoMID)",
        ]
        if let stream { lines.append("a=msid-semantic: WMS \(stream)") }
        return lines.map { $0 + "\r\n" }.joined()
    }

    private func section(
        kind: String, direction: String, source: (ssrc: UInt32, cname: String, stream: String, track: String)?,
        msid: (stream: String, track: String)? = nil, rids: [String] = [], transportCC: Bool = false
    ) -> String {
        let audio = kind == "audio"
        let pt = audio ? OfferFormat.audioPayloadType : OfferFormat.videoPayloadType
        var lines = [
            "m=\(kind) \(localPort) UDP/TLS/RTP/SAVPF \(pt)",
            "c=IN IP4 127.0.0.1",
            "a=ice-ufrag:\(ice.ufrag)",
            "a=ice-pwd:\(ice.pwd)",
            "a=fingerprint:\(fingerprint.algorithm) \(fingerprint.hex)",
            "a=setup:\(dtlsSetup)",
            "a=mid:\(audio ? OfferFormat.audioMID : OfferFormat.videoMID)",
            "a=extmap:\(OfferFormat.midExtensionID) \(OfferFormat.midExtensionURI)",
        ]
        if transportCC {
            lines.append("a=extmap:\(OfferFormat.transportSequenceExtensionID) \(OfferFormat.transportSequenceExtensionURI)")
        }
        if !rids.isEmpty {
            lines += [
                "a=extmap:\(OfferFormat.ridExtensionID) \(OfferFormat.ridExtensionURI)",
                "a=extmap:\(OfferFormat.repairedRIDExtensionID) \(OfferFormat.repairedRIDExtensionURI)",
            ]
        }
        lines.append("a=\(direction)")
        if let msid = msid ?? source.map({ ($0.stream, $0.track) }) { lines.append("a=msid:\(msid.stream) \(msid.track)") }
        lines += ["a=rtcp-mux", "a=rtcp-rsize"]
        if audio {
            lines += ["a=rtpmap:\(pt) opus/48000/2", "a=fmtp:\(pt) minptime=10;useinbandfec=1"]
        } else {
            lines += ["a=rtpmap:\(pt) VP8/90000", "a=rtcp-fb:\(pt) nack", "a=rtcp-fb:\(pt) nack pli", "a=rtcp-fb:\(pt) ccm fir"]
        }
        if transportCC { lines.append("a=rtcp-fb:\(pt) transport-cc") }
        if let source {
            lines += [
                "a=ssrc:\(source.ssrc) cname:\(source.cname)",
                "a=ssrc:\(source.ssrc) msid:\(source.stream) \(source.track)",
            ]
        }
        if !rids.isEmpty {
            lines += rids.map { "a=rid:\($0) send" } + ["a=simulcast:send " + rids.joined(separator: ";")]
        }
        // RFC 8445 §5.1.2.1 host priority for component 1, as ClientTransport's checks carry it.
        lines += ["a=candidate:1 1 udp 2130706431 127.0.0.1 \(localPort) typ host", "a=end-of-candidates"]
        return lines.map { $0 + "\r\n" }.joined()
    }
}
