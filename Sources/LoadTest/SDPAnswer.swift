// Reads what a load-test peer needs from Chorus's answer: the transport (ICE credentials, DTLS
// fingerprint, the one host candidate) and per m= section its mid, payload type and the SSRC
// the SFU will send (a=ssrc, RFC 5576), which a subscriber uses to tell audio from video.

import ICE
import SFU

public struct SDPAnswer: Equatable, Sendable {
    public struct Section: Equatable, Sendable {
        public var kind: String
        public var port: Int
        public var mid: String?
        public var direction: String?
        /// The first payload type of the m= line: Chorus answers with one codec per section.
        public var payloadType: UInt8?
        /// The first `a=ssrc` of the section: the stream the SFU sends there.
        public var ssrc: UInt32?

        public var isAccepted: Bool { port != 0 }
    }

    public var ice: ICECredentials
    public var fingerprint: DTLSFingerprint
    public var candidate: TransportAddress
    public var sections: [Section]

    public init(parsing text: String) throws(LoadTestError) {
        var ufrag: String?
        var pwd: String?
        var fingerprint: DTLSFingerprint?
        var candidate: TransportAddress?
        var sections: [Section] = []
        for rawLine in text.split(whereSeparator: \.isNewline) {
            let line = String(rawLine)
            if line.hasPrefix("m=") {
                let fields = line.dropFirst(2).split(separator: " ")
                guard fields.count >= 4, let port = Int(fields[1]) else { throw .badAnswer("bad m= line '\(line)'") }
                sections.append(Section(kind: String(fields[0]), port: port, payloadType: UInt8(fields[3])))
                continue
            }
            guard line.hasPrefix("a=") else { continue }
            let attribute = line.dropFirst(2)
            let name = attribute.prefix { $0 != ":" }
            let value = attribute.count > name.count ? String(attribute.dropFirst(name.count + 1)) : ""
            switch name {
            case "ice-ufrag": ufrag = ufrag ?? value
            case "ice-pwd": pwd = pwd ?? value
            case "fingerprint":
                let parts = value.split(separator: " ", maxSplits: 1)
                guard parts.count == 2, let parsed = DTLSFingerprint(algorithm: String(parts[0]), hex: String(parts[1])) else {
                    throw .badAnswer("bad a=fingerprint '\(value)'")
                }
                fingerprint = fingerprint ?? parsed
            case "candidate":
                // foundation component transport priority address port "typ" type (RFC 8839 §5.1)
                let fields = value.split(separator: " ")
                // The load generator speaks UDP; Chorus's ICE-TCP candidate is for others.
                if fields.count >= 3, fields[2].lowercased() == "tcp" { continue }
                guard fields.count >= 8, fields[2].lowercased() == "udp", let port = UInt16(fields[5]),
                      let address = TransportAddress(string: String(fields[4]), port: port)
                else { throw .badAnswer("bad a=candidate '\(value)'") }
                candidate = candidate ?? address
            case "mid" where !sections.isEmpty: sections[sections.count - 1].mid = value
            case "sendonly", "recvonly", "sendrecv", "inactive":
                // A `where` would bind to the last pattern only; check here for all four.
                if !sections.isEmpty { sections[sections.count - 1].direction = String(name) }
            case "ssrc" where !sections.isEmpty:
                guard let ssrc = UInt32(value.prefix { $0 != " " }) else { throw .badAnswer("bad a=ssrc '\(value)'") }
                if sections[sections.count - 1].ssrc == nil { sections[sections.count - 1].ssrc = ssrc }
            default:
                continue
            }
        }
        guard let ufrag, let pwd else { throw .badAnswer("no a=ice-ufrag/a=ice-pwd") }
        guard let fingerprint else { throw .badAnswer("no a=fingerprint") }
        guard let candidate else { throw .badAnswer("no a=candidate") }
        self.ice = ICECredentials(ufrag: ufrag, pwd: pwd)
        self.fingerprint = fingerprint
        self.candidate = candidate
        self.sections = sections
    }

    public func section(mid: String) -> Section? {
        sections.first { $0.mid == mid && $0.isAccepted }
    }
}
