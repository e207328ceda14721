// One m= section (RFC 8866 §5.14) with the lines that follow it up to the next m=.

public struct MediaDescription: Equatable, Sendable {
    /// "audio", "video", "application", ... kept as text: an offer may carry kinds Chorus rejects.
    public var kind: String
    /// 0 means disabled (RFC 3264 §6), or bundle-only in an offer (RFC 8843 §6).
    public var port: Int
    /// The `/<number of ports>` suffix of §5.14; WebRTC never sends it.
    public var portCount: Int?
    public var proto: String
    /// RTP payload types for RTP protos; "webrtc-datachannel" and the like otherwise.
    public var formats: [String]
    public var information: String?
    /// The `c=` value, e.g. "IN IP4 192.0.2.1".
    public var connection: String?
    public var bandwidths: [SDPBandwidth]
    /// `k=` lines and lines of unknown letters, in order.
    public var otherLines: [SDPLine]
    public var attributes: [SDPAttribute]

    public init(
        kind: String, port: Int, portCount: Int? = nil, proto: String, formats: [String],
        information: String? = nil, connection: String? = nil, bandwidths: [SDPBandwidth] = [],
        otherLines: [SDPLine] = [], attributes: [SDPAttribute] = []
    ) {
        self.kind = kind
        self.port = port
        self.portCount = portCount
        self.proto = proto
        self.formats = formats
        self.information = information
        self.connection = connection
        self.bandwidths = bandwidths
        self.otherLines = otherLines
        self.attributes = attributes
    }

    /// Values of every `a=<name>:` line, in order; a flag (`a=<name>`) gives "".
    public func values(of name: String) -> [String] {
        attributes.compactMap { $0.name == name ? ($0.value ?? "") : nil }
    }

    public func firstValue(of name: String) -> String? {
        attributes.first { $0.name == name }.map { $0.value ?? "" }
    }

    public func has(_ name: String) -> Bool {
        attributes.contains { $0.name == name }
    }

    /// `a=mid` (RFC 5888 §4), surrounding blanks dropped.
    public var mid: String? {
        firstValue(of: "mid").map { $0.trimmingSDPBlanks() }
    }

    /// The section's own direction attribute, nil when it has none (the session level or the
    /// sendrecv default then applies, RFC 8866 §6.7).
    public var explicitDirection: MediaDirection? {
        // The last one wins if a peer repeats itself; RFC 8866 allows only one.
        attributes.last { $0.value == nil && MediaDirection(rawValue: $0.name) != nil }
            .flatMap { MediaDirection(rawValue: $0.name) }
    }

    /// The section's direction, sendrecv when it names none (RFC 8866 §6.7).
    public var direction: MediaDirection {
        explicitDirection ?? .sendrecv
    }

    /// The lines of this section, without line endings.
    package func renderedLines() -> [String] {
        var lines: [String] = []
        let portText = portCount.map { "\(port)/\($0)" } ?? "\(port)"
        lines.append((["m=\(kind)", portText, proto] + formats).joined(separator: " "))
        if let information { lines.append("i=" + information) }
        if let connection { lines.append("c=" + connection) }
        for bandwidth in bandwidths { lines.append("b=" + bandwidth.rendered) }
        for line in otherLines { lines.append("\(line.type)=\(line.value)") }
        for attribute in attributes { lines.append("a=" + attribute.rendered) }
        return lines
    }
}

extension StringProtocol {
    /// Drops spaces and tabs at both ends: the only blanks SDP values can carry, since line ends
    /// are stripped by the parser.
    package func trimmingSDPBlanks() -> String {
        var slice = self[...]
        while let first = slice.first, first == " " || first == "\t" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice = slice.dropLast() }
        return String(slice)
    }
}
