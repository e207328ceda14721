// Reads a WHIP/WHEP offer and decides what Chorus accepts: one codec per audio/video m= section,
// the BUNDLE transport's ICE and DTLS parameters, and which m= sections get port 0.

public enum SDPNegotiator {
    /// The rtcp-fb values kept in the answer, all of which the SFU acts on: RFC 4585 NACK and
    /// PLI, RFC 5104 FIR, transport-cc (the SFU sends feedback on what it receives) and
    /// goog-remb (REMB for peers without transport-cc).
    package static let keptFeedback: [String] = ["nack", "nack pli", "ccm fir", "goog-remb", "transport-cc"]

    /// Header extensions the SFU reads or rewrites: MID for BUNDLE demux (RFC 8843), audio level
    /// (RFC 6464), abs-send-time (for REMB), the transport-wide sequence number (transport-cc),
    /// and for simulcast senders only the RID and repaired RID (RFC 8852), which tell which
    /// layer a new SSRC (or RTX SSRC) carries.
    package static let keptExtensions: Set<String> = [
        HeaderExtension.sdesMID, HeaderExtension.audioLevel, HeaderExtension.absSendTime, HeaderExtension.transportWideCC,
        HeaderExtension.rtpStreamID, HeaderExtension.repairedRTPStreamID,
    ]

    /// Extensions kept only on sections answered as RID simulcast.
    package static let simulcastExtensions: Set<String> = [HeaderExtension.rtpStreamID, HeaderExtension.repairedRTPStreamID]

    package static let securedRTPProtos: Set<String> = ["UDP/TLS/RTP/SAVPF", "UDP/TLS/RTP/SAVP"]

    /// Parses an offer and picks, per m= section, the first codec of `policy` the offer has (for
    /// H264 packetization-mode=1 with a 42e01f/42001f baseline profile first). Keeps only the
    /// rtcp-fb values and header extensions the SFU uses.
    ///
    /// Rejected (port 0 in the answer): sections that are not audio/video over
    /// UDP/TLS/RTP/SAVP(F), disabled (port 0 without bundle-only), inactive, without a codec of
    /// `policy`, outside the offered BUNDLE group, or beyond `policy`'s count for their kind.
    /// Thrown: text errors, an ICE-lite offerer, bad or duplicate mids, an accepted section
    /// without mid or rtcp-mux, several accepted sections without BUNDLE, missing or bad ICE
    /// credentials or fingerprints, `a=setup:passive`; `.noUsableMedia` when nothing is accepted.
    /// `keepInactive`: accept inactive sections too (a group call's session keeps a paused
    /// transceiver's m-line; WHIP/WHEP have no use for one). A sending video section's
    /// simulcast is accepted: RID layers when the RID extension is offered, else SSRC groups.
    public static func negotiate(
        offer text: String, policy: CodecPolicy = .default, keepInactive: Bool = false
    ) throws(SDPError) -> NegotiatedOffer {
        let (offer, lines) = try SDPParser.parse(text)

        // RFC 8445 §2.5: a lite agent only answers checks, so two lite agents never connect.
        if offer.has("ice-lite") {
            throw .unsupported("a=ice-lite offer: Chorus is ICE-lite too and needs a full ICE peer (RFC 8445 §2.5)")
        }
        try checkMIDs(offer, lines: lines)
        let bundle = offer.bundleGroup
        let sessionDirection = offer.attributes.last { $0.value == nil && MediaDirection(rawValue: $0.name) != nil }
            .flatMap { MediaDirection(rawValue: $0.name) }

        var accepted: [NegotiatedMedia] = []
        var rejected: [Int] = []
        var counts: [MediaKind: Int] = [:]
        for (index, section) in offer.media.enumerated() {
            guard let kind = MediaKind(rawValue: section.kind),
                  securedRTPProtos.contains(section.proto)
            else {
                rejected.append(index)
                continue
            }
            let mid = section.mid
            let bundled = bundle.map { groupMids in mid.map(groupMids.contains) ?? false }
            // Port 0 disables a section (RFC 3264 §8.2) unless it is bundle-only (RFC 8843 §6).
            if section.port == 0 && !(section.has("bundle-only") && bundled == true) {
                rejected.append(index)
                continue
            }
            let direction = section.explicitDirection ?? sessionDirection ?? .sendrecv
            // An inactive section carries nothing; port 0 keeps the SFU's model simpler.
            guard direction != .inactive || keepInactive else {
                rejected.append(index)
                continue
            }
            let offered = try OfferedSection(section, lines: lines.media[index])
            guard let chosen = chooseCodec(from: offered.codecs, names: policy.codecs(for: kind)) else {
                rejected.append(index)
                continue
            }
            guard let mid else {
                throw .missing("a=mid in m-line \(index) (\(kind.rawValue)): BUNDLE needs one per section (RFC 8843 §7)")
            }
            // A section outside the offered BUNDLE group would need its own transport.
            guard bundled != false, counts[kind, default: 0] < policy.maxSections(for: kind) else {
                rejected.append(index)
                continue
            }
            // RFC 8843 §9.3: bundled RTP sections multiplex RTCP; Chorus has no separate RTCP port.
            guard section.has("rtcp-mux") || section.has("rtcp-mux-only") else {
                throw .missing("a=rtcp-mux in m-line \(index) (mid \(mid)); Chorus multiplexes RTCP (RFC 5761, RFC 8843 §9.3)")
            }
            counts[kind, default: 0] += 1
            let codec = NegotiatedCodec(
                payloadType: chosen.payloadType, name: chosen.name, clockRate: chosen.clockRate,
                channels: chosen.channels, fmtp: chosen.fmtp,
                feedback: keptFeedback.filter(chosen.feedback.contains),
                rtxPayloadType: rtxPayloadType(for: chosen, in: offered.codecs))
            // Simulcast is something a sender does; RID simulcast needs the RID extension to work.
            var simulcast = kind == .video && direction.sends ? offered.simulcast : nil
            let ridExtension = offered.extensions.contains { $0.uri == HeaderExtension.rtpStreamID }
            if simulcast?.rids.isEmpty == false && !ridExtension { simulcast = nil }
            let extensions = simulcast?.rids.isEmpty == false
                ? offered.extensions : offered.extensions.filter { !simulcastExtensions.contains($0.uri) }
            accepted.append(NegotiatedMedia(
                index: index, mid: mid, kind: kind, offerDirection: direction, codec: codec,
                headerExtensions: extensions, ssrc: offered.ssrc, rtxSSRC: codec.rtxPayloadType == nil ? nil : offered.rtxSSRC,
                cname: offered.cname, msid: offered.msid, rtcpReducedSize: section.has("rtcp-rsize"), simulcast: simulcast,
                content: Self.content(of: section)))
        }

        guard !accepted.isEmpty else { throw .noUsableMedia }
        // Without BUNDLE every section has its own ICE and DTLS transport (RFC 8843).
        if bundle == nil && accepted.count > 1 {
            throw .unsupported("\(accepted.count) media sections without a=group:BUNDLE; Chorus serves one BUNDLE transport per peer (RFC 9725)")
        }

        let transport = TransportSource(offer: offer, lines: lines, accepted: accepted, bundle: bundle)
        let ufrag = try transport.iceCredential("ice-ufrag", lengths: 4...256)
        let pwd = try transport.iceCredential("ice-pwd", lengths: 22...256)
        let fingerprints = try transport.fingerprints()
        let setup = try transport.setup()
        return NegotiatedOffer(
            offer: offer, iceUfrag: ufrag, icePwd: pwd, fingerprints: fingerprints, setup: setup,
            media: accepted, rejectedIndexes: rejected)
    }

    /// RFC 5888 §4: a mid is a token and unique in the session; the answer's BUNDLE line lists them.
    private static func checkMIDs(_ offer: SessionDescription, lines: SDPLineNumbers) throws(SDPError) {
        var seen: Set<String> = []
        for (index, section) in offer.media.enumerated() {
            guard let position = section.attributes.firstIndex(where: { $0.name == "mid" }), let mid = section.mid else { continue }
            let numbers = lines.media[index]
            let line = position < numbers.attributes.count ? numbers.attributes[position] : numbers.mLine
            guard !mid.isEmpty, mid.allSatisfy(isTokenCharacter) else {
                throw .malformed(line: line, reason: "a=mid \"\(mid)\" is not a token (RFC 5888 §4)")
            }
            guard seen.insert(mid).inserted else {
                throw .malformed(line: line, reason: "a=mid \"\(mid)\" used by two m= sections (RFC 5888 §4)")
            }
        }
    }

    /// The offered RTX payload type whose `apt` is `codec` (RFC 4588 §8.6), at its clock rate.
    /// RFC 4796 §5: `a=content:` names what a stream shows, a comma-separated list, values
    /// case-insensitive (RFC 4796 §9 registers them in lower case).
    private static func content(of section: MediaDescription) -> [String] {
        section.values(of: "content").flatMap { $0.split(separator: ",") }
            .map { $0.trimmingSDPBlanks().lowercased() }.filter { !$0.isEmpty }
    }

    package static func rtxPayloadType(for codec: OfferedCodec, in codecs: [OfferedCodec]) -> UInt8? {
        codecs.first {
            $0.name.lowercased() == "rtx" && $0.clockRate == codec.clockRate && $0.parameters["apt"] == "\(codec.payloadType)"
        }?.payloadType
    }

    /// RFC 8866 §9 `token-char`.
    package static func isTokenCharacter(_ character: Character) -> Bool {
        guard character.isASCII, let scalar = character.unicodeScalars.first else { return false }
        switch scalar.value {
        case 0x21, 0x23...0x27, 0x2A, 0x2B, 0x2D, 0x2E, 0x30...0x39, 0x41...0x5A, 0x5E...0x7E: return true
        default: return false
        }
    }

    /// First codec of `names` the offer lists. For H264, among the offered variants the one
    /// every WebRTC peer decodes: packetization-mode=1 (RFC 6184 §6.3 non-interleaved, needed
    /// for FU-A) and Constrained Baseline/Baseline level 3.1; then the offer's own order.
    package static func chooseCodec(from codecs: [OfferedCodec], names: [String]) -> OfferedCodec? {
        for name in names {
            let wanted = name.lowercased()
            let matches = codecs.filter { $0.name.lowercased() == wanted }
            guard var best = matches.first else { continue }
            guard wanted == "h264" else { return best }
            var bestRank = h264Rank(best)
            for candidate in matches.dropFirst() {
                let rank = h264Rank(candidate)
                if rank < bestRank {
                    best = candidate
                    bestRank = rank
                }
            }
            return best
        }
        return nil
    }

    /// Lower is better: mode 1 before mode 0, then 42e01f/42001f, other baseline (profile_idc
    /// 0x42), anything else.
    private static func h264Rank(_ codec: OfferedCodec) -> Int {
        let parameters = codec.parameters
        let modeOne = parameters["packetization-mode"] == "1"
        let profile = parameters["profile-level-id"]?.lowercased() ?? "42000a"  // RFC 6184 §8.1 default
        let profileRank = ["42e01f", "42001f"].contains(profile) ? 0 : (profile.hasPrefix("42") ? 1 : 2)
        return (modeOne ? 0 : 3) + profileRank
    }
}

extension SessionDescription {
    /// The mids of the first `a=group:BUNDLE` (RFC 8843 §7.1), nil when the offer has none.
    public var bundleGroup: [String]? {
        for value in values(of: "group") {
            let fields = value.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if fields.first == "BUNDLE" { return fields.dropFirst().map(String.init) }
        }
        return nil
    }
}
