// Reads SDP text into a SessionDescription (RFC 8866 §5 and §9), remembering on which line each
// attribute stood so that the negotiator can point at the offending line of an offer.

/// Line numbers (1-based) of the parsed attributes, parallel to the model's arrays.
package struct SDPLineNumbers: Equatable, Sendable {
    package var sessionAttributes: [Int] = []
    package var media: [SDPMediaLineNumbers] = []
}

package struct SDPMediaLineNumbers: Equatable, Sendable {
    package var mLine: Int
    package var attributes: [Int] = []
}

package enum SDPParser {
    package static func parse(_ text: String) throws(SDPError) -> (description: SessionDescription, lines: SDPLineNumbers) {
        var version: Int?
        var origin: SDPOrigin?
        var sessionName: String?
        var information: String?
        var connection: String?
        var bandwidths: [SDPBandwidth] = []
        var timing: [SDPTiming] = []
        var otherLines: [SDPLine] = []
        var attributes: [SDPAttribute] = []
        var media: [MediaDescription] = []
        var numbers = SDPLineNumbers()

        let rawLines = lines(of: text)
        for (offset, raw) in rawLines.enumerated() {
            let line = offset + 1
            if raw.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            let (type, value) = try splitLine(raw, line: line)

            guard version != nil else {
                guard type == "v" else {
                    if rawLines.contains(where: { $0.hasPrefix("v=") }) {
                        throw .malformed(line: line, reason: "\(type)= comes before v=, which must be the first line (RFC 8866 §5)")
                    }
                    throw .missing("v=")
                }
                guard let number: Int = sdpDecimal(value) else {
                    throw .malformed(line: line, reason: "v= must be a number")
                }
                guard number == 0 else { throw .unsupported("SDP version \(number); only v=0 exists (RFC 8866 §5.1)") }
                version = number
                continue
            }

            if !media.isEmpty {
                if type == "m" {
                    media.append(try mediaLine(value, line: line))
                    numbers.media.append(SDPMediaLineNumbers(mLine: line))
                    continue
                }
                try mediaLevel(type, value, line: line, into: &media[media.count - 1], numbers: &numbers.media[numbers.media.count - 1])
                continue
            }

            switch type {
            case "v":
                throw .malformed(line: line, reason: "second v= line")
            case "o":
                guard origin == nil else { throw .malformed(line: line, reason: "second o= line") }
                origin = try SDPOrigin(parsing: value, line: line)
            case "s":
                guard sessionName == nil else { throw .malformed(line: line, reason: "second s= line") }
                sessionName = String(value)
            case "i":
                guard information == nil else { throw .malformed(line: line, reason: "second session-level i= line") }
                information = String(value)
            case "c":
                guard connection == nil else { throw .malformed(line: line, reason: "second session-level c= line") }
                connection = try connectionValue(value, line: line)
            case "b":
                bandwidths.append(try SDPBandwidth(parsing: value, line: line))
            case "t":
                timing.append(try SDPTiming(parsing: value, line: line))
            case "r":
                guard !timing.isEmpty else { throw .malformed(line: line, reason: "r= before any t= (RFC 8866 §5.10)") }
                timing[timing.count - 1].repeats.append(String(value))
            case "a":
                attributes.append(try attribute(value, line: line))
                numbers.sessionAttributes.append(line)
            case "m":
                media.append(try mediaLine(value, line: line))
                numbers.media.append(SDPMediaLineNumbers(mLine: line))
            default:
                // u=, e=, p=, z=, k= and letters from future RFCs: §5 lets a parser ignore them.
                otherLines.append(SDPLine(type: type, value: String(value)))
            }
        }

        guard let version else { throw .missing("v=") }
        guard let origin else { throw .missing("o=") }
        guard let sessionName else { throw .missing("s=") }
        guard !timing.isEmpty else { throw .missing("t=") }
        // Stored in rendering order so that parse → render → parse gives an equal value.
        otherLines = otherLines.filter { SDPLineOrder.beforeConnection($0.type) }
            + otherLines.filter { !SDPLineOrder.beforeConnection($0.type) }
        let description = SessionDescription(
            version: version, origin: origin, sessionName: sessionName, information: information,
            connection: connection, bandwidths: bandwidths, timing: timing, otherLines: otherLines,
            attributes: attributes, media: media)
        return (description, numbers)
    }

    /// RFC 8866 §5: lines end in CRLF, but parsers should also accept a bare LF (and a bare CR is
    /// taken as one too). Found on the UTF-8 bytes: CR and LF are ASCII and always Character
    /// boundaries (Unicode's rules break around controls; CR LF is one Character, one break), so
    /// the lines are those a split on Characters gives, without the grapheme breaking that made
    /// the split most of a parse.
    static func lines(of text: String) -> [Substring] {
        var lines: [Substring] = []
        let bytes = text.utf8
        var start = bytes.startIndex
        var index = start
        while index != bytes.endIndex {
            let byte = bytes[index]
            guard byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") else {
                bytes.formIndex(after: &index)
                continue
            }
            lines.append(text[start..<index])
            bytes.formIndex(after: &index)
            if byte == UInt8(ascii: "\r"), index != bytes.endIndex, bytes[index] == UInt8(ascii: "\n") {
                bytes.formIndex(after: &index)
            }
            start = index
        }
        lines.append(text[start..<bytes.endIndex])
        return lines
    }

    /// `<type>=<value>` where type is one lowercase letter (RFC 8866 §5).
    private static func splitLine(_ raw: Substring, line: Int) throws(SDPError) -> (Character, Substring) {
        guard let type = raw.first, type.isASCII, type.isLetter, type.isLowercase,
              raw.dropFirst().first == "="
        else {
            throw .malformed(line: line, reason: "not a <letter>=<value> line (RFC 8866 §5)")
        }
        return (type, raw.dropFirst(2))
    }

    private static func mediaLevel(
        _ type: Character, _ value: Substring, line: Int,
        into section: inout MediaDescription, numbers: inout SDPMediaLineNumbers
    ) throws(SDPError) {
        switch type {
        case "a":
            section.attributes.append(try attribute(value, line: line))
            numbers.attributes.append(line)
        case "c":
            // §5.7 allows several c= for layered multicast; WebRTC never sends that.
            guard section.connection == nil else { throw .malformed(line: line, reason: "second c= line in an m= section") }
            section.connection = try connectionValue(value, line: line)
        case "b":
            section.bandwidths.append(try SDPBandwidth(parsing: value, line: line))
        case "i":
            guard section.information == nil else { throw .malformed(line: line, reason: "second i= line in an m= section") }
            section.information = String(value)
        case "v", "o", "s", "t", "r", "z", "u", "e", "p":
            throw .malformed(line: line, reason: "\(type)= belongs to the session level, not inside an m= section (RFC 8866 §9)")
        default:
            section.otherLines.append(SDPLine(type: type, value: String(value)))
        }
    }

    /// `m=<media> <port>[/<count>] <proto> <fmt> ...` (RFC 8866 §5.14): at least one format.
    private static func mediaLine(_ value: Substring, line: Int) throws(SDPError) -> MediaDescription {
        let fields = value.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count >= 4 else {
            throw .malformed(line: line, reason: "m= needs <media> <port> <proto> <fmt>... (RFC 8866 §5.14)")
        }
        let portParts = fields[1].split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let port: Int = sdpDecimal(portParts[0]), port <= 65535 else {
            throw .malformed(line: line, reason: "m= port \"\(fields[1])\" is not a number from 0 to 65535")
        }
        var count: Int?
        if portParts.count == 2 {
            guard let value: Int = sdpDecimal(portParts[1]), value >= 1, value <= 65535 else {
                throw .malformed(line: line, reason: "m= port count \"\(portParts[1])\" is not a positive number")
            }
            count = value
        }
        return MediaDescription(
            kind: String(fields[0]), port: port, portCount: count, proto: String(fields[2]),
            formats: fields.dropFirst(3).map(String.init))
    }

    /// `c=<nettype> <addrtype> <address>` (RFC 8866 §5.7), kept as text.
    private static func connectionValue(_ value: Substring, line: Int) throws(SDPError) -> String {
        guard value.split(separator: " ", omittingEmptySubsequences: true).count == 3 else {
            throw .malformed(line: line, reason: "c= needs <nettype> <addrtype> <address> (RFC 8866 §5.7)")
        }
        return String(value)
    }

    /// `a=<name>` or `a=<name>:<value>` (RFC 8866 §5.13); the name is a token, so no blanks.
    private static func attribute(_ value: Substring, line: Int) throws(SDPError) -> SDPAttribute {
        let name: Substring
        var attributeValue: String?
        if let colon = value.firstIndex(of: ":") {
            name = value[..<colon]
            attributeValue = String(value[value.index(after: colon)...])
        } else {
            name = value
        }
        guard !name.isEmpty, !name.contains(where: { $0 == " " || $0 == "\t" }) else {
            throw .malformed(line: line, reason: "attribute name \"\(name)\" is empty or has blanks (RFC 8866 §5.13)")
        }
        return SDPAttribute(name: String(name), value: attributeValue)
    }
}

/// A decimal made of ASCII digits only: `Int("+5")` would accept a sign SDP does not allow.
package func sdpDecimal<T: FixedWidthInteger>(_ text: Substring) -> T? {
    guard !text.isEmpty, text.allSatisfy(\.isSDPDigit) else { return nil }
    return T(text)
}

package func sdpDecimal<T: FixedWidthInteger>(_ text: String) -> T? {
    sdpDecimal(text[...])
}
