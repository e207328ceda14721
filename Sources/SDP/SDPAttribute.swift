// One `a=` line (RFC 8866 §5.13): a property flag (`a=rtcp-mux`) or a `name:value` pair.

public struct SDPAttribute: Equatable, Sendable {
    public var name: String
    /// nil for a flag; the text after the first ':' otherwise (it may itself contain ':').
    public var value: String?

    public init(name: String, value: String? = nil) {
        self.name = name
        self.value = value
    }

    /// The line's text after `a=`.
    public var rendered: String {
        guard let value else { return name }
        return name + ":" + value
    }
}
