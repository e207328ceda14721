// Why an SDP text could not be read, or why Chorus cannot answer an offer. A WHIP/WHEP endpoint
// turns these into an HTTP error whose body says which line or which requirement failed.

public enum SDPError: Error, Equatable, Sendable {
    /// A line breaks the grammar of RFC 8866 §9 or of its attribute's own RFC. `line` is 1-based
    /// in the text that was parsed.
    case malformed(line: Int, reason: String)
    /// Something the RFCs or Chorus require is absent, e.g. "a=ice-ufrag".
    case missing(String)
    /// Well formed, but not something Chorus does (an ICE-lite offerer, `a=setup:passive`, ...).
    case unsupported(String)
    /// Not one audio or video m= section of the offer can be accepted.
    case noUsableMedia
}

extension SDPError: CustomStringConvertible {
    public var description: String {
        switch self {
        case let .malformed(line, reason): return "SDP line \(line): \(reason)"
        case let .missing(what): return "SDP lacks \(what)"
        case let .unsupported(what): return "SDP asks for something unsupported: \(what)"
        case .noUsableMedia: return "SDP offer has no audio or video section Chorus can accept"
        }
    }
}
