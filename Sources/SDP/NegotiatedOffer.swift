// What Chorus takes from a WHIP/WHEP offer once codecs are chosen: the peer's transport
// parameters and, per accepted m= section, the one codec and the RTP details the SFU needs.

/// One `a=fingerprint` (RFC 8122 §5) of the peer's DTLS certificate.
public struct Fingerprint: Equatable, Sendable {
    /// Hash function name from the IANA registry RFC 8122 §5 refers to, lowercased: "sha-256".
    public var algorithm: String
    public var bytes: [UInt8]

    public init(algorithm: String, bytes: [UInt8]) {
        self.algorithm = algorithm
        self.bytes = bytes
    }

    /// Parses `<hash-func> <XX:XX:...>`; the digest length must match a known hash function.
    package init(parsing value: String, line: Int) throws(SDPError) {
        let fields = value.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard fields.count == 2 else {
            throw .malformed(line: line, reason: "a=fingerprint needs <hash-func> <hex:pairs> (RFC 8122 §5)")
        }
        let algorithm = fields[0].lowercased()
        var bytes: [UInt8] = []
        for pair in fields[1].split(separator: ":", omittingEmptySubsequences: false) {
            guard pair.count == 2, let byte = UInt8(pair, radix: 16), pair.allSatisfy(\.isHexDigit) else {
                throw .malformed(line: line, reason: "a=fingerprint digest must be colon-separated hex pairs (RFC 8122 §5)")
            }
            bytes.append(byte)
        }
        if let expected = Fingerprint.digestLengths[algorithm], expected != bytes.count {
            throw .malformed(line: line, reason: "a=fingerprint \(algorithm) digest has \(bytes.count) bytes, not \(expected)")
        }
        self.init(algorithm: algorithm, bytes: bytes)
    }

    /// "AB:CD:..." as written in SDP (RFC 8122 §5 uses uppercase hex).
    public var hexString: String {
        bytes.map { byte in
            let hex = String(byte, radix: 16, uppercase: true)
            return hex.count == 1 ? "0" + hex : hex
        }.joined(separator: ":")
    }

    /// Digest sizes of the hash functions RFC 8122 §5 allows; unknown names pass unchecked.
    package static let digestLengths: [String: Int] = [
        "md2": 16, "md5": 16, "sha-1": 20, "sha-224": 28, "sha-256": 32, "sha-384": 48, "sha-512": 64,
    ]
}

/// An accepted `a=extmap` (RFC 8285 §5): the peer's id for a header extension URI.
public struct HeaderExtension: Equatable, Sendable {
    public var id: UInt8
    public var uri: String

    public init(id: UInt8, uri: String) {
        self.id = id
        self.uri = uri
    }

    public static let sdesMID = "urn:ietf:params:rtp-hdrext:sdes:mid"
    public static let audioLevel = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
    public static let absSendTime = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
    public static let transportWideCC = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
    /// RID of a simulcast layer's packets (RFC 8852 §3.1).
    public static let rtpStreamID = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
    /// RID of the layer an RTX packet repairs (RFC 8852 §3.2).
    public static let repairedRTPStreamID = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"
}

/// The simulcast layers an offerer sends on one m= section, lowest first (spatial layer 0 is the
/// first): RIDs from `a=simulcast:send` (RFC 8853), whose SSRCs the SFU learns from the RID
/// header extension, or the SSRCs of `a=ssrc-group:SIM` with their RTX pairs.
public struct SimulcastLayers: Equatable, Sendable {
    public struct Source: Equatable, Sendable {
        public var ssrc: UInt32
        public var rtxSSRC: UInt32?

        public init(ssrc: UInt32, rtxSSRC: UInt32? = nil) {
            self.ssrc = ssrc
            self.rtxSSRC = rtxSSRC
        }
    }

    /// RID simulcast: one RID per layer, in the offer's `a=simulcast` order.
    public var rids: [String]
    /// SSRC simulcast: one source per layer, in the `a=ssrc-group:SIM` order.
    public var ssrcs: [Source]

    public init(rids: [String]) {
        self.rids = rids
        self.ssrcs = []
    }

    public init(ssrcs: [Source]) {
        self.rids = []
        self.ssrcs = ssrcs
    }

    public var count: Int { max(rids.count, ssrcs.count) }
}

/// The codec chosen for an m= section, as the offer described its payload type.
public struct NegotiatedCodec: Equatable, Sendable {
    public var payloadType: UInt8
    /// The encoding name as written in the rtpmap: "opus", "VP8", "H264".
    public var name: String
    public var clockRate: UInt32
    public var channels: Int?
    /// The offer's `a=fmtp` parameters for this payload type, copied into the answer.
    public var fmtp: String?
    /// Kept `a=rtcp-fb` values: "nack", "nack pli", "ccm fir", "goog-remb", "transport-cc".
    public var feedback: [String]
    /// The payload type of this codec's RTX (RFC 4588: `rtx/<clock>` with `apt=<payloadType>`),
    /// when offered; the answer keeps it.
    public var rtxPayloadType: UInt8?

    public init(
        payloadType: UInt8, name: String, clockRate: UInt32, channels: Int? = nil, fmtp: String? = nil,
        feedback: [String] = [], rtxPayloadType: UInt8? = nil
    ) {
        self.payloadType = payloadType
        self.name = name
        self.clockRate = clockRate
        self.channels = channels
        self.fmtp = fmtp
        self.feedback = feedback
        self.rtxPayloadType = rtxPayloadType
    }
}

/// An accepted audio or video m= section of the offer.
public struct NegotiatedMedia: Equatable, Sendable {
    /// The m-line index in the offer (and in the answer, RFC 3264 §6).
    public var index: Int
    public var mid: String
    public var kind: MediaKind
    /// The offer's direction (media level, else session level, else sendrecv).
    public var offerDirection: MediaDirection
    public var codec: NegotiatedCodec
    public var headerExtensions: [HeaderExtension]
    /// The offer's primary media SSRC: not the RTX/FEC member of an `a=ssrc-group`.
    public var ssrc: UInt32?
    /// Its RTX SSRC (`a=ssrc-group:FID`), when the offer names one.
    public var rtxSSRC: UInt32?
    public var cname: String?
    /// "streamId trackId" from `a=msid` (RFC 8830 §2) or `a=ssrc:<ssrc> msid:`.
    public var msid: String?
    /// The offer had `a=rtcp-rsize` (RFC 5506): reduced-size RTCP may be sent.
    public var rtcpReducedSize: Bool
    /// The layers of a simulcast sender (nil: one stream). RID simulcast is answered with
    /// `a=simulcast:recv` and one `a=rid:<id> recv` per layer.
    public var simulcast: SimulcastLayers?
    /// RFC 4796 `a=content:` values of the section ("slides", "main", "speaker", "sl", "alt").
    public var content: [String]

    /// The section carries a shared screen: `a=content:slides` (RFC 4796 §5: "presentation slides").
    public var isSlides: Bool { content.contains("slides") }

    public init(
        index: Int, mid: String, kind: MediaKind, offerDirection: MediaDirection, codec: NegotiatedCodec,
        headerExtensions: [HeaderExtension] = [], ssrc: UInt32? = nil, rtxSSRC: UInt32? = nil, cname: String? = nil,
        msid: String? = nil, rtcpReducedSize: Bool = false, simulcast: SimulcastLayers? = nil, content: [String] = []
    ) {
        self.content = content
        self.rtxSSRC = rtxSSRC
        self.simulcast = simulcast
        self.index = index
        self.mid = mid
        self.kind = kind
        self.offerDirection = offerDirection
        self.codec = codec
        self.headerExtensions = headerExtensions
        self.ssrc = ssrc
        self.cname = cname
        self.msid = msid
        self.rtcpReducedSize = rtcpReducedSize
    }

    /// The accepted id of a header extension, if the offer had it.
    public func headerExtensionID(_ uri: String) -> UInt8? {
        headerExtensions.first { $0.uri == uri }?.id
    }
}

/// Everything Chorus needs from an offer to build its answer and set up the transport.
public struct NegotiatedOffer: Equatable, Sendable {
    public var offer: SessionDescription
    /// ICE credentials (RFC 8839 §5.4) of the BUNDLE transport.
    public var iceUfrag: String
    public var icePwd: String
    /// Every offered certificate fingerprint; DTLS accepts the peer if one matches (RFC 8122 §5).
    public var fingerprints: [Fingerprint]
    /// The offer's `a=setup`: "actpass" or "active" ("active" when absent, RFC 4145 §4).
    public var setup: String
    public var media: [NegotiatedMedia]
    /// m-line indexes answered with port 0.
    public var rejectedIndexes: [Int]

    public init(
        offer: SessionDescription, iceUfrag: String, icePwd: String, fingerprints: [Fingerprint], setup: String,
        media: [NegotiatedMedia], rejectedIndexes: [Int]
    ) {
        self.offer = offer
        self.iceUfrag = iceUfrag
        self.icePwd = icePwd
        self.fingerprints = fingerprints
        self.setup = setup
        self.media = media
        self.rejectedIndexes = rejectedIndexes
    }

    /// The first offered fingerprint made with `algorithm` ("sha-256"), if any.
    public func fingerprint(_ algorithm: String) -> Fingerprint? {
        let wanted = algorithm.lowercased()
        return fingerprints.first { $0.algorithm == wanted }
    }
}
