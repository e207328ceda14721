// The RTP details of one offered audio/video m= section, read from its attributes: payload
// types (rtpmap, fmtp, rtcp-fb), header extensions (extmap) and sources (ssrc, ssrc-group, msid).

package struct OfferedCodec: Equatable, Sendable {
    package var payloadType: UInt8
    package var name: String
    package var clockRate: UInt32
    package var channels: Int?
    package var fmtp: String?
    /// Every rtcp-fb value for this payload type or `*`, normalised to single spaces, lowercase.
    package var feedback: [String]

    /// fmtp `key=value;...` parameters with lowercased keys (RFC 6838 §4.3: parameter names
    /// are case-insensitive).
    package var parameters: [String: String] {
        var result: [String: String] = [:]
        for item in (fmtp ?? "").split(separator: ";") {
            let pair = item.split(separator: "=", maxSplits: 1)
            guard let key = pair.first else { continue }
            let name = key.trimmingSDPBlanks().lowercased()
            if result[name] == nil { result[name] = pair.count == 2 ? pair[1].trimmingSDPBlanks() : "" }
        }
        return result
    }
}

package struct OfferedSection: Sendable {
    /// Payload types of the m= line that have an rtpmap (or a static RFC 3551 mapping), in the
    /// offer's preference order.
    package var codecs: [OfferedCodec] = []
    package var extensions: [HeaderExtension] = []
    package var ssrc: UInt32?
    /// The RTX SSRC paired with `ssrc` by `a=ssrc-group:FID` (RFC 4588 §8.3), if any.
    package var rtxSSRC: UInt32?
    package var cname: String?
    package var msid: String?

    package init(_ section: MediaDescription, lines: SDPMediaLineNumbers) throws(SDPError) {
        var payloadTypes: [UInt8] = []
        for format in section.formats {
            guard let pt: UInt8 = sdpDecimal(format), pt <= 127 else {
                throw .malformed(line: lines.mLine, reason: "format \"\(format)\" is not an RTP payload type 0-127 (RFC 3550 §5.1)")
            }
            if !payloadTypes.contains(pt) { payloadTypes.append(pt) }
        }

        var rtpmaps: [UInt8: (name: String, clockRate: UInt32, channels: Int?)] = [:]
        var fmtps: [UInt8: String] = [:]
        var feedback: [String: [String]] = [:]  // by payload type text, "*" included
        var extensionIDs: Set<UInt16> = []
        var ssrcOrder: [UInt32] = []
        var ssrcAttributes: [UInt32: [String: String]] = [:]
        var secondarySSRCs: Set<UInt32> = []
        var fidPairs: [UInt32: UInt32] = [:]
        var mediaMSID: String?

        for (position, attribute) in section.attributes.enumerated() {
            let line = position < lines.attributes.count ? lines.attributes[position] : lines.mLine
            let value = attribute.value ?? ""
            switch attribute.name {
            case "rtpmap":
                let map = try Self.rtpmap(value, line: line)
                guard rtpmaps[map.pt] == nil else {
                    throw .malformed(line: line, reason: "second a=rtpmap for payload type \(map.pt)")
                }
                rtpmaps[map.pt] = (map.name, map.clockRate, map.channels)
            case "fmtp":
                let fields = value.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
                guard let first = fields.first, let pt: UInt8 = sdpDecimal(first), pt <= 127 else {
                    throw .malformed(line: line, reason: "a=fmtp must start with a payload type (RFC 8866 §6.15)")
                }
                if fmtps[pt] == nil { fmtps[pt] = fields.count == 2 ? fields[1].trimmingSDPBlanks() : "" }
            case "rtcp-fb":
                let fields = value.split(whereSeparator: { $0 == " " || $0 == "\t" })
                guard fields.count >= 2 else {
                    throw .malformed(line: line, reason: "a=rtcp-fb needs <pt|*> <type> (RFC 4585 §4.2)")
                }
                let key = String(fields[0])
                guard key == "*" || (sdpDecimal(key) as UInt8?).map({ $0 <= 127 }) == true else {
                    throw .malformed(line: line, reason: "a=rtcp-fb payload type \"\(key)\" is neither * nor 0-127")
                }
                feedback[key, default: []].append(fields.dropFirst().joined(separator: " ").lowercased())
            case "extmap":
                let ext = try Self.extmap(value, line: line)
                guard extensionIDs.insert(ext.id).inserted else {
                    throw .malformed(line: line, reason: "a=extmap id \(ext.id) used twice (RFC 8285 §5)")
                }
                if let accepted = ext.accepted { extensions.append(accepted) }
            case "ssrc":
                let (ssrc, name, attributeValue) = try Self.ssrcLine(value, line: line)
                if ssrcAttributes[ssrc] == nil {
                    ssrcOrder.append(ssrc)
                    ssrcAttributes[ssrc] = [:]
                }
                if ssrcAttributes[ssrc]?[name] == nil { ssrcAttributes[ssrc]?[name] = attributeValue }
            case "ssrc-group":
                // RFC 5576 §4.2: FID (RFC 4588 RTX), FEC-FR, SIM... The first SSRC is the media
                // one; the rest repair it or are further layers Chorus does not negotiate.
                let fields = value.split(whereSeparator: { $0 == " " || $0 == "\t" })
                guard fields.count >= 2 else {
                    throw .malformed(line: line, reason: "a=ssrc-group needs <semantics> <ssrc>... (RFC 5576 §4.2)")
                }
                var members: [UInt32] = []
                for field in fields.dropFirst() {
                    guard let ssrc: UInt32 = sdpDecimal(field) else {
                        throw .malformed(line: line, reason: "a=ssrc-group member \"\(field)\" is not a 32-bit SSRC")
                    }
                    members.append(ssrc)
                }
                if !ssrcOrder.contains(members[0]) {
                    ssrcOrder.append(members[0])
                    if ssrcAttributes[members[0]] == nil { ssrcAttributes[members[0]] = [:] }
                }
                secondarySSRCs.formUnion(members.dropFirst().filter { $0 != members[0] })
                if fields[0] == "FID", members.count == 2, fidPairs[members[0]] == nil { fidPairs[members[0]] = members[1] }
            case "msid":
                if mediaMSID == nil { mediaMSID = Self.normalisedMSID(value) }
            default:
                continue
            }
        }

        for pt in payloadTypes {
            let map = rtpmaps[pt] ?? Self.staticPayloadTypes[pt]
            guard let map else { continue }
            var codecFeedback: [String] = []
            for value in (feedback["\(pt)"] ?? []) + (feedback["*"] ?? []) where !codecFeedback.contains(value) {
                codecFeedback.append(value)
            }
            codecs.append(OfferedCodec(
                payloadType: pt, name: map.name, clockRate: map.clockRate, channels: map.channels,
                fmtp: fmtps[pt], feedback: codecFeedback))
        }

        ssrc = ssrcOrder.first { !secondarySSRCs.contains($0) }
        rtxSSRC = ssrc.flatMap { fidPairs[$0] }
        if let ssrc {
            cname = ssrcAttributes[ssrc]?["cname"].flatMap { $0.isEmpty ? nil : $0 }
            msid = mediaMSID ?? ssrcAttributes[ssrc]?["msid"].flatMap(Self.normalisedMSID)
        } else {
            msid = mediaMSID
        }
    }

    /// `<pt> <encoding>/<clock>[/<channels>]` (RFC 8866 §6.6).
    private static func rtpmap(_ value: String, line: Int) throws(SDPError) -> (pt: UInt8, name: String, clockRate: UInt32, channels: Int?) {
        let fields = value.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard fields.count == 2, let pt: UInt8 = sdpDecimal(fields[0]), pt <= 127 else {
            throw .malformed(line: line, reason: "a=rtpmap must be <pt> <encoding>/<clock rate>[/<channels>] (RFC 8866 §6.6)")
        }
        let parts = fields[1].split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3, !parts[0].isEmpty,
              let clockRate: UInt32 = sdpDecimal(parts[1]), clockRate > 0
        else {
            throw .malformed(line: line, reason: "a=rtpmap encoding must be <name>/<clock rate>[/<channels>] (RFC 8866 §6.6)")
        }
        var channels: Int?
        if parts.count == 3 {
            guard let count: Int = sdpDecimal(parts[2]), count >= 1, count <= 255 else {
                throw .malformed(line: line, reason: "a=rtpmap channel count \"\(parts[2])\" is not 1-255")
            }
            channels = count
        }
        return (pt, String(parts[0]), clockRate, channels)
    }

    /// `<id>[/<direction>] <uri> [<attributes>]` (RFC 8285 §5). Returns the id and, when Chorus
    /// keeps this extension, the accepted form.
    private static func extmap(_ value: String, line: Int) throws(SDPError) -> (id: UInt16, accepted: HeaderExtension?) {
        let fields = value.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard fields.count >= 2 else {
            throw .malformed(line: line, reason: "a=extmap needs <id> <uri> (RFC 8285 §5)")
        }
        let idParts = fields[0].split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        // 1-14 one-byte, up to 255 two-byte (§4), 4096-4351 answerer-chosen in offers (§5).
        guard let id: UInt16 = sdpDecimal(idParts[0]), (1...255).contains(id) || (4096...4351).contains(id) else {
            throw .malformed(line: line, reason: "a=extmap id \"\(idParts[0])\" is not 1-255 (RFC 8285 §5)")
        }
        if idParts.count == 2, MediaDirection(rawValue: String(idParts[1])) == nil {
            throw .malformed(line: line, reason: "a=extmap direction \"\(idParts[1])\" is not sendrecv/sendonly/recvonly/inactive")
        }
        let uri = String(fields[1])
        // Only ids 1-14 are kept: the SFU writes one-byte headers (RFC 8285 §4.2) and does not
        // answer a=extmap-allow-mixed.
        guard SDPNegotiator.keptExtensions.contains(uri), id <= 14 else { return (id, nil) }
        return (id, HeaderExtension(id: UInt8(id), uri: uri))
    }

    /// `<ssrc-id> <attribute>[:<value>]` (RFC 5576 §4.1).
    private static func ssrcLine(_ value: String, line: Int) throws(SDPError) -> (UInt32, String, String) {
        let fields = value.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard fields.count == 2, let ssrc: UInt32 = sdpDecimal(fields[0]) else {
            throw .malformed(line: line, reason: "a=ssrc must be <32-bit ssrc> <attribute>[:<value>] (RFC 5576 §4.1)")
        }
        let attribute = fields[1]
        guard let colon = attribute.firstIndex(of: ":") else { return (ssrc, attribute.trimmingSDPBlanks(), "") }
        return (ssrc, String(attribute[..<colon]), attribute[attribute.index(after: colon)...].trimmingSDPBlanks())
    }

    /// "streamId trackId" with single spaces; nil when empty.
    private static func normalisedMSID(_ value: String) -> String? {
        let fields = value.split(whereSeparator: { $0 == " " || $0 == "\t" })
        return fields.isEmpty ? nil : fields.joined(separator: " ")
    }

    /// Payload types with a fixed meaning (RFC 3551 §6) that offers may list without rtpmap.
    package static let staticPayloadTypes: [UInt8: (name: String, clockRate: UInt32, channels: Int?)] = [
        0: ("PCMU", 8000, nil), 3: ("GSM", 8000, nil), 4: ("G723", 8000, nil), 8: ("PCMA", 8000, nil),
        9: ("G722", 8000, nil), 13: ("CN", 8000, nil), 18: ("G729", 8000, nil),
    ]
}
