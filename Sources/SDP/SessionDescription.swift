// A session description as its lines say it (RFC 8866 §5): parsed from an offer's text and
// rendered back to CRLF-terminated text, with nothing interpreted beyond the line grammar.

public struct SessionDescription: Equatable, Sendable {
    /// Always 0 (RFC 8866 §5.1).
    public var version: Int
    public var origin: SDPOrigin
    public var sessionName: String
    public var information: String?
    /// Session-level `c=` value, e.g. "IN IP4 0.0.0.0".
    public var connection: String?
    public var bandwidths: [SDPBandwidth]
    /// At least one `t=` (§5.9); WebRTC always sends `t=0 0`.
    public var timing: [SDPTiming]
    /// u=, e=, p= (rendered before c=), then z=, k= and unknown letters (rendered after t=).
    public var otherLines: [SDPLine]
    public var attributes: [SDPAttribute]
    public var media: [MediaDescription]

    public init(
        version: Int = 0, origin: SDPOrigin, sessionName: String = "-", information: String? = nil,
        connection: String? = nil, bandwidths: [SDPBandwidth] = [], timing: [SDPTiming] = [SDPTiming()],
        otherLines: [SDPLine] = [], attributes: [SDPAttribute] = [], media: [MediaDescription] = []
    ) {
        self.version = version
        self.origin = origin
        self.sessionName = sessionName
        self.information = information
        self.connection = connection
        self.bandwidths = bandwidths
        self.timing = timing
        self.otherLines = otherLines
        self.attributes = attributes
        self.media = media
    }

    /// Parses SDP text whose lines end in CRLF or a bare LF (RFC 8866 §5 asks parsers to
    /// accept both).
    public init(parsing text: String) throws(SDPError) {
        self = try SDPParser.parse(text).description
    }

    /// Values of every session-level `a=<name>:` line, in order; a flag gives "".
    public func values(of name: String) -> [String] {
        attributes.compactMap { $0.name == name ? ($0.value ?? "") : nil }
    }

    public func has(_ name: String) -> Bool {
        attributes.contains { $0.name == name }
    }

    /// The text with every line ended by CRLF (RFC 8866 §5), fields in the order of §9.
    public func render() -> String {
        var lines: [String] = ["v=\(version)", "o=" + origin.rendered, "s=" + sessionName]
        if let information { lines.append("i=" + information) }
        for line in otherLines where SDPLineOrder.beforeConnection(line.type) {
            lines.append("\(line.type)=\(line.value)")
        }
        if let connection { lines.append("c=" + connection) }
        for bandwidth in bandwidths { lines.append("b=" + bandwidth.rendered) }
        for time in timing {
            lines.append("t=\(time.start) \(time.stop)")
            for repeatLine in time.repeats { lines.append("r=" + repeatLine) }
        }
        for line in otherLines where !SDPLineOrder.beforeConnection(line.type) {
            lines.append("\(line.type)=\(line.value)")
        }
        for attribute in attributes { lines.append("a=" + attribute.rendered) }
        for section in media { lines.append(contentsOf: section.renderedLines()) }
        return lines.joined(separator: "\r\n") + "\r\n"
    }
}

/// Where the uninterpreted session-level lines go, so that parse → render → parse is stable.
package enum SDPLineOrder {
    package static func beforeConnection(_ type: Character) -> Bool {
        type == "u" || type == "e" || type == "p"
    }
}
