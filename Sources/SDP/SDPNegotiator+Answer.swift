// Builds Chorus's answer (RFC 8829 §5.3.1, RFC 3264 §6): every offered m= section in order,
// accepted ones on the one ICE-lite, DTLS-passive, rtcp-mux BUNDLE transport, the rest port 0.

extension SDPNegotiator {
    /// The answer text. `outgoing` names, by mid, the stream the SFU sends on that section;
    /// `sessionID` should be random and below 2^63 (RFC 8829 §5.2.1).
    public static func answer(
        to negotiated: NegotiatedOffer, local: LocalTransport, outgoing: [String: OutgoingStream], sessionID: UInt64
    ) -> String {
        let offer = negotiated.offer
        var accepted: [Int: NegotiatedMedia] = [:]
        for media in negotiated.media where accepted[media.index] == nil { accepted[media.index] = media }

        var answer = SessionDescription(
            origin: SDPOrigin(sessionID: "\(sessionID)", sessionVersion: "2"),
            attributes: [SDPAttribute(name: "ice-lite")])
        var bundleMids: [String] = []
        var sends = false
        for (index, offered) in offer.media.enumerated() {
            guard let media = accepted[index] else {
                answer.media.append(rejectedSection(offered))
                continue
            }
            let stream = outgoing[media.mid]
            let direction = answerDirection(offer: media.offerDirection, sending: stream != nil)
            sends = sends || direction.sends
            bundleMids.append(media.mid)
            answer.media.append(acceptedSection(
                media, offered: offered, local: local, direction: direction, stream: direction.sends ? stream : nil))
        }
        // The answerer may only keep a BUNDLE group the offer proposed (RFC 8843 §7.3); the
        // negotiator accepts a single section when there was none.
        if offer.bundleGroup != nil && !bundleMids.isEmpty {
            answer.attributes.append(SDPAttribute(name: "group", value: (["BUNDLE"] + bundleMids).joined(separator: " ")))
        }
        if sends {
            // Obsolete since RFC 8830, still read by older libwebrtc before it trusts a=msid.
            answer.attributes.append(SDPAttribute(name: "msid-semantic", value: "WMS *"))
        }
        return answer.render()
    }

    /// RFC 3264 §6.1 mirrored, narrowed by what the SFU has to send on this section.
    package static func answerDirection(offer: MediaDirection, sending: Bool) -> MediaDirection {
        switch offer {
        case .sendrecv: return sending ? .sendrecv : .recvonly
        case .sendonly: return .recvonly
        case .recvonly: return sending ? .sendonly : .inactive
        case .inactive: return .inactive
        }
    }

    /// Port 0 with the offer's kind, proto and first format (RFC 3264 §6); the mid stays so the
    /// offerer can match it (RFC 8829 §5.3.1), c= because RFC 8866 §5.7 wants one per section.
    private static func rejectedSection(_ offered: MediaDescription) -> MediaDescription {
        disabledSection(kind: offered.kind, proto: offered.proto, format: offered.formats.first, mid: offered.mid)
    }

    package static func disabledSection(kind: String, proto: String, format: String?, mid: String?) -> MediaDescription {
        var section = MediaDescription(
            kind: kind, port: 0, proto: proto, formats: format.map { [$0] } ?? [], connection: "IN IP4 0.0.0.0")
        if let mid { section.attributes.append(SDPAttribute(name: "mid", value: mid)) }
        return section
    }

    private static func acceptedSection(
        _ media: NegotiatedMedia, offered: MediaDescription, local: LocalTransport, direction: MediaDirection,
        stream: OutgoingStream?
    ) -> MediaDescription {
        var section = mediaSection(
            kind: media.kind, proto: offered.proto, mid: media.mid, codec: media.codec, extensions: media.headerExtensions,
            rtcpReducedSize: media.rtcpReducedSize, local: local, setup: "passive", direction: direction, stream: stream)
        if let rids = media.simulcast?.rids, direction.receives {
            // RFC 8853 §5.3: the answerer receives what the offerer sends, same RIDs, same order.
            addSimulcastReceive(rids, to: &section)
        }
        return section
    }

    /// `a=rid:<id> recv` per layer and `a=simulcast:recv` (RFC 8851 §4, RFC 8853 §5.1), before
    /// the candidates; nothing for an empty list.
    package static func addSimulcastReceive(_ rids: [String], to section: inout MediaDescription) {
        guard !rids.isEmpty else { return }
        let candidates = section.attributes.firstIndex { $0.name == "candidate" } ?? section.attributes.endIndex
        let lines = rids.map { SDPAttribute(name: "rid", value: "\($0) recv") }
            + [SDPAttribute(name: "simulcast", value: "recv " + rids.joined(separator: ";"))]
        section.attributes.insert(contentsOf: lines, at: candidates)
    }

    /// One m= section on Chorus's BUNDLE transport with one codec: what an answer accepts, and
    /// what a group call's offers carry (`setup` "actpass" in offers, RFC 8842 §5.2).
    package static func mediaSection(
        kind: MediaKind, proto: String, mid: String, codec: NegotiatedCodec, extensions: [HeaderExtension],
        rtcpReducedSize: Bool, local: LocalTransport, setup: String, direction: MediaDirection, stream: OutgoingStream?
    ) -> MediaDescription {
        let pt = "\(codec.payloadType)"
        var attributes: [SDPAttribute] = [
            SDPAttribute(name: "ice-ufrag", value: local.iceUfrag),
            SDPAttribute(name: "ice-pwd", value: local.icePwd),
            SDPAttribute(name: "fingerprint", value: "sha-256 " + local.fingerprintSHA256),
            // Chorus is the DTLS server: the peer starts the handshake once ICE works (RFC 8842 §5.3).
            SDPAttribute(name: "setup", value: setup),
            SDPAttribute(name: "mid", value: mid),
            SDPAttribute(name: direction.rawValue),
            SDPAttribute(name: "rtcp-mux"),
        ]
        if rtcpReducedSize { attributes.append(SDPAttribute(name: "rtcp-rsize")) }
        var rtpmap = "\(pt) \(codec.name)/\(codec.clockRate)"
        if let channels = codec.channels { rtpmap += "/\(channels)" }
        attributes.append(SDPAttribute(name: "rtpmap", value: rtpmap))
        if let fmtp = codec.fmtp, !fmtp.isEmpty { attributes.append(SDPAttribute(name: "fmtp", value: "\(pt) \(fmtp)")) }
        for feedback in codec.feedback { attributes.append(SDPAttribute(name: "rtcp-fb", value: "\(pt) \(feedback)")) }
        if let rtx = codec.rtxPayloadType {
            // RFC 4588 §8.6: retransmissions on their own payload type, tied to the codec by apt.
            attributes.append(SDPAttribute(name: "rtpmap", value: "\(rtx) rtx/\(codec.clockRate)"))
            attributes.append(SDPAttribute(name: "fmtp", value: "\(rtx) apt=\(pt)"))
        }
        for ext in extensions { attributes.append(SDPAttribute(name: "extmap", value: "\(ext.id) \(ext.uri)")) }
        if let stream {
            attributes.append(SDPAttribute(name: "msid", value: "\(stream.streamID) \(stream.trackID)"))
            let rtxSSRC = codec.rtxPayloadType == nil ? nil : stream.rtxSSRC
            if let rtxSSRC {
                attributes.append(SDPAttribute(name: "ssrc-group", value: "FID \(stream.ssrc) \(rtxSSRC)"))
            }
            for ssrc in [stream.ssrc] + (rtxSSRC.map { [$0] } ?? []) {
                attributes.append(SDPAttribute(name: "ssrc", value: "\(ssrc) cname:\(stream.cname)"))
                attributes.append(SDPAttribute(name: "ssrc", value: "\(ssrc) msid:\(stream.streamID) \(stream.trackID)"))
            }
        }
        // An ICE-lite agent announces only host candidates (RFC 8445 §2.5), all at once: UDP,
        // and ICE-TCP passive below it for peers whose UDP is blocked.
        for candidate in local.candidateAttributes {
            attributes.append(SDPAttribute(name: "candidate", value: candidate))
        }
        attributes.append(SDPAttribute(name: "end-of-candidates"))
        return MediaDescription(
            kind: kind.rawValue, port: Int(local.candidatePort), proto: proto,
            formats: [pt] + (codec.rtxPayloadType.map { ["\($0)"] } ?? []),
            connection: "IN \(local.addressType) \(local.candidateIP)", attributes: attributes)
    }
}
