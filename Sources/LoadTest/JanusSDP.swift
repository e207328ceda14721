// The SDP a load-test subscriber exchanges with Janus's VideoRoom: Janus offers (one m= section
// per stream of the feed, its own SSRCs and payload types, DTLS actpass) and the subscriber
// answers recvonly with the same payload types, the MID extension if offered, and
// a=setup:active, because ClientTransport is always the DTLS client (RFC 8842 §5.3).

import ICE
import SFU

/// What a subscriber needs from Janus's offer: the transport, and per section the codec's
/// payload type and the SSRC Janus will send it with.
struct JanusSubscriberOffer: Equatable, Sendable {
    struct Section: Equatable, Sendable {
        var kind: String
        var port: Int
        /// The m= line's protocol, echoed when the section is declined.
        var proto: String
        var formats: [String]
        var mid: String?
        /// rtpmap payload type → encoding name, lower-cased ("opus", "vp8", "rtx").
        var encodings: [UInt8: String] = [:]
        /// a=fmtp by payload type, as offered.
        var formatParameters: [UInt8: String] = [:]
        /// a=rtcp-fb values by payload type ("nack", "nack pli", "ccm fir", ...).
        var feedback: [UInt8: [String]] = [:]
        /// a=extmap URI → id.
        var extensions: [String: UInt8] = [:]
        var ssrcs: [UInt32] = []
        /// RFC 4588 §8.1 a=ssrc-group:FID primary retransmission.
        var fidGroup: FIDGroup?

        struct FIDGroup: Equatable, Sendable {
            var primary: UInt32
            var retransmission: UInt32
        }

        /// The offered payload type of `encoding` (case-insensitive), in m= line order.
        func payloadType(of encoding: String) -> UInt8? {
            formats.compactMap(UInt8.init).first { encodings[$0] == encoding.lowercased() }
        }

        /// The media SSRC: the FID group's primary, else the first a=ssrc.
        var mediaSSRC: UInt32? { fidGroup?.primary ?? ssrcs.first }
        /// RTX Janus would send if the answer accepted it (we never do).
        var retransmissionSSRC: UInt32? { fidGroup?.retransmission }
    }

    /// ICE credentials, fingerprint and candidate, read the same way as an answer.
    var transport: SDPAnswer
    var sections: [Section]

    init(parsing text: String) throws(LoadTestError) {
        transport = try SDPAnswer(parsing: text)
        var sections: [Section] = []
        for rawLine in text.split(whereSeparator: \.isNewline) {
            let line = String(rawLine)
            if line.hasPrefix("m=") {
                let fields = line.dropFirst(2).split(separator: " ").map(String.init)
                guard fields.count >= 4, let port = Int(fields[1]) else { throw .badAnswer("Janus offer: bad m= line '\(line)'") }
                sections.append(Section(kind: fields[0], port: port, proto: fields[2], formats: Array(fields[3...])))
                continue
            }
            guard line.hasPrefix("a="), !sections.isEmpty else { continue }
            let attribute = line.dropFirst(2)
            let name = attribute.prefix { $0 != ":" }
            let value = attribute.count > name.count ? String(attribute.dropFirst(name.count + 1)) : ""
            let last = sections.count - 1
            switch name {
            case "mid":
                sections[last].mid = value
            case "rtpmap":
                // <payload type> <encoding name>/<clock rate>[/<channels>] (RFC 8866 §6.6)
                let parts = value.split(separator: " ", maxSplits: 1)
                guard parts.count == 2, let pt = UInt8(parts[0]), pt < 128, let encoding = parts[1].split(separator: "/").first else {
                    throw .badAnswer("Janus offer: bad a=rtpmap '\(value)'")
                }
                sections[last].encodings[pt] = encoding.lowercased()
            case "fmtp":
                let parts = value.split(separator: " ", maxSplits: 1)
                guard parts.count == 2, let pt = UInt8(parts[0]) else { throw .badAnswer("Janus offer: bad a=fmtp '\(value)'") }
                sections[last].formatParameters[pt] = String(parts[1])
            case "rtcp-fb":
                let parts = value.split(separator: " ", maxSplits: 1)
                guard parts.count == 2, let pt = UInt8(parts[0]) else { continue }  // "*" applies to all: not used by Janus
                sections[last].feedback[pt, default: []].append(String(parts[1]))
            case "extmap":
                // <id>[/<direction>] <uri> (RFC 8285 §8)
                let parts = value.split(separator: " ")
                guard parts.count >= 2, let id = UInt8(parts[0].prefix { $0 != "/" }), (1...14).contains(id) else {
                    throw .badAnswer("Janus offer: bad a=extmap '\(value)'")
                }
                sections[last].extensions[String(parts[1])] = id
            case "ssrc":
                guard let ssrc = UInt32(value.prefix { $0 != " " }) else { throw .badAnswer("Janus offer: bad a=ssrc '\(value)'") }
                if !sections[last].ssrcs.contains(ssrc) { sections[last].ssrcs.append(ssrc) }
            case "ssrc-group":
                let parts = value.split(separator: " ")
                if parts.first == "FID", parts.count == 3, let primary = UInt32(parts[1]), let rtx = UInt32(parts[2]) {
                    sections[last].fidGroup = Section.FIDGroup(primary: primary, retransmission: rtx)
                }
            default:
                continue
            }
        }
        self.sections = sections
    }

    /// The first audio section offering Opus and the first video section offering VP8: what a
    /// subscriber accepts.
    var audioIndex: Int? { sections.firstIndex { $0.kind == "audio" && $0.port != 0 && $0.payloadType(of: "opus") != nil } }
    var videoIndex: Int? { sections.firstIndex { $0.kind == "video" && $0.port != 0 && $0.payloadType(of: "vp8") != nil } }
    var audio: Section? { audioIndex.map { sections[$0] } }
    var video: Section? { videoIndex.map { sections[$0] } }
}

enum JanusSDP {
    /// The rtcp-fb values a browser answers VP8 with and the generator also offers Chorus:
    /// what Janus was offered decides what it keeps for the subscriber (a NACK buffer).
    static let videoFeedback: Set<String> = ["nack", "nack pli", "ccm fir"]

    /// A recvonly answer to Janus's subscriber offer: Opus and VP8 accepted with Janus's
    /// payload types, anything else declined (port 0), bundled on our one socket.
    static func answer(to offer: JanusSubscriberOffer, local: LocalPeer, sessionID: UInt64 = .random(in: 1...(1 << 62))) throws(LoadTestError) -> String {
        guard let audioIndex = offer.audioIndex, let videoIndex = offer.videoIndex else {
            throw .badAnswer("Janus offer lacks an Opus audio or a VP8 video section")
        }
        let accepted = [audioIndex, videoIndex].sorted().map { offer.sections[$0] }
        var text = [
            "v=0",
            "o=- \(sessionID) 2 IN IP4 127.0.0.1",
            "s=-",
            "t=0 0",
            "a=group:BUNDLE " + accepted.compactMap(\.mid).joined(separator: " "),
        ].map { $0 + "\r\n" }.joined()
        for (index, section) in offer.sections.enumerated() {
            guard index == audioIndex || index == videoIndex else {
                // RFC 8829 §5.3.1: a rejected m= section keeps its kind and proto with port 0.
                text += ["m=\(section.kind) 0 \(section.proto) \(section.formats.first ?? "0")", "c=IN IP4 0.0.0.0"]
                    .map { $0 + "\r\n" }.joined()
                if let mid = section.mid { text += "a=mid:\(mid)\r\n" }
                text += "a=inactive\r\n"
                continue
            }
            let isAudio = index == audioIndex
            let pt = section.payloadType(of: isAudio ? "opus" : "vp8")!
            var lines = [
                "m=\(section.kind) \(local.port) UDP/TLS/RTP/SAVPF \(pt)",
                "c=IN IP4 127.0.0.1",
                "a=ice-ufrag:\(local.ice.ufrag)",
                "a=ice-pwd:\(local.ice.pwd)",
                "a=fingerprint:\(local.fingerprint.algorithm) \(local.fingerprint.hex)",
                // RFC 8842 §5.3: Janus offers actpass; we take the client role, as with Chorus.
                "a=setup:active",
            ]
            if let mid = section.mid { lines.append("a=mid:\(mid)") }
            if let id = section.extensions[OfferFormat.midExtensionURI] { lines.append("a=extmap:\(id) \(OfferFormat.midExtensionURI)") }
            lines += ["a=recvonly", "a=rtcp-mux", "a=rtcp-rsize"]
            if isAudio {
                lines += ["a=rtpmap:\(pt) opus/48000/2", "a=fmtp:\(pt) minptime=10;useinbandfec=1"]
            } else {
                lines.append("a=rtpmap:\(pt) VP8/90000")
                for value in section.feedback[pt, default: []] where videoFeedback.contains(value) {
                    lines.append("a=rtcp-fb:\(pt) \(value)")
                }
            }
            lines += ["a=candidate:1 1 udp 2130706431 127.0.0.1 \(local.port) typ host", "a=end-of-candidates"]
            text += lines.map { $0 + "\r\n" }.joined()
        }
        return text
    }
}
