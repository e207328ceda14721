// Finds the offer's ICE and DTLS parameters for the one BUNDLE transport: in the tagged m=
// section (RFC 8843 §7), then the other accepted sections, then the session level.

package struct TransportSource {
    package let offer: SessionDescription
    package let lines: SDPLineNumbers
    /// Accepted m-line indexes, the offerer's BUNDLE-tagged section first.
    package let order: [Int]

    package init(offer: SessionDescription, lines: SDPLineNumbers, accepted: [NegotiatedMedia], bundle: [String]?) {
        self.offer = offer
        self.lines = lines
        var order = accepted.map(\.index)
        if let tag = bundle?.first, let tagged = accepted.first(where: { $0.mid == tag }) {
            order.removeAll { $0 == tagged.index }
            order.insert(tagged.index, at: 0)
        }
        self.order = order
    }

    /// Every `a=<name>` of the first place that has one: a section in `order`, else the session.
    package func values(_ name: String) -> [(value: String, line: Int)] {
        for index in order {
            let section = offer.media[index]
            let numbers = lines.media[index]
            var found: [(String, Int)] = []
            for (position, attribute) in section.attributes.enumerated() where attribute.name == name {
                let line = position < numbers.attributes.count ? numbers.attributes[position] : numbers.mLine
                found.append((attribute.value ?? "", line))
            }
            if !found.isEmpty { return found }
        }
        var found: [(String, Int)] = []
        for (position, attribute) in offer.attributes.enumerated() where attribute.name == name {
            let line = position < lines.sessionAttributes.count ? lines.sessionAttributes[position] : 0
            found.append((attribute.value ?? "", line))
        }
        return found
    }

    /// `a=ice-ufrag` / `a=ice-pwd` (RFC 8839 §5.4): ice-chars only, so the STUN USERNAME
    /// "local:remote" (RFC 8445 §7.2.2) stays unambiguous.
    package func iceCredential(_ name: String, lengths: ClosedRange<Int>) throws(SDPError) -> String {
        guard let found = values(name).first else { throw .missing("a=\(name)") }
        let (value, line) = (found.value.trimmingSDPBlanks(), found.line)
        guard lengths.contains(value.count), value.allSatisfy(Self.isICECharacter) else {
            throw .malformed(line: line, reason: "a=\(name) must be \(lengths.lowerBound)-\(lengths.upperBound) of A-Z a-z 0-9 + / (RFC 8839 §5.4)")
        }
        return value
    }

    package static func isICECharacter(_ character: Character) -> Bool {
        character.isASCII && (character.isLetter || character.isNumber || character == "+" || character == "/")
    }

    /// All offered fingerprints of the transport: the DTLS layer picks the algorithm.
    package func fingerprints() throws(SDPError) -> [Fingerprint] {
        let found = values("fingerprint")
        guard !found.isEmpty else { throw .missing("a=fingerprint (RFC 8122 §5)") }
        var result: [Fingerprint] = []
        for (value, line) in found {
            result.append(try Fingerprint(parsing: value, line: line))
        }
        return result
    }

    /// Chorus is always the DTLS server (`a=setup:passive` in its answer), so the offerer must be
    /// able to act as client: actpass or active (RFC 8842 §5.3). Checked on every accepted section.
    package func setup() throws(SDPError) -> String {
        var places: [(String, Int)] = []
        for index in order {
            let numbers = lines.media[index]
            for (position, attribute) in offer.media[index].attributes.enumerated() where attribute.name == "setup" {
                places.append((attribute.value ?? "", position < numbers.attributes.count ? numbers.attributes[position] : numbers.mLine))
            }
        }
        for (position, attribute) in offer.attributes.enumerated() where attribute.name == "setup" {
            places.append((attribute.value ?? "", position < lines.sessionAttributes.count ? lines.sessionAttributes[position] : 0))
        }
        for (raw, line) in places {
            switch raw.trimmingSDPBlanks().lowercased() {
            case "actpass", "active":
                continue
            case "passive":
                throw .unsupported("a=setup:passive offer: Chorus is the DTLS server and needs an active or actpass peer (RFC 8842 §5.3)")
            case "holdconn":
                throw .unsupported("a=setup:holdconn (RFC 4145 §4)")
            default:
                throw .malformed(line: line, reason: "a=setup \"\(raw)\" is not actpass/active/passive/holdconn (RFC 4145 §4)")
            }
        }
        // RFC 4145 §4: an offer without a=setup means active.
        return values("setup").first.map { $0.value.trimmingSDPBlanks().lowercased() } ?? "active"
    }
}
