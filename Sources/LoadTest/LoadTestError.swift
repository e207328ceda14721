// Why a load test could not start or had to stop, in words an operator can act on.

public enum LoadTestError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The target is not this machine: the generator only ever sends to 127.0.0.1.
    case notLoopback(String)
    /// `--server` is not `http://127.0.0.1:<port>`.
    case badServerURL(String)
    /// An option out of range or contradicting another.
    case badArgument(String)
    /// The scenario asks for more peers or time than the generator allows.
    case overLimit(String)
    /// The HTTP exchange itself failed (connect, write, read, unparsable response).
    case http(String)
    /// The server answered a WHIP/WHEP request with something other than 201.
    case rejected(request: String, status: Int, body: String)
    /// The SDP answer lacks something the client needs (ICE, fingerprint, candidate, ssrc).
    case badAnswer(String)
    /// libopus or libvpx refused.
    case codec(String)
    /// A socket could not be opened, bound or connected.
    case socket(String)
    /// Peers did not connect (ICE, DTLS) or the run could not proceed.
    case setup(String)

    public var description: String {
        switch self {
        case .notLoopback(let what): "refusing to load \(what): chorus loadtest only sends to 127.0.0.1"
        case .badServerURL(let text): "--server must be http://127.0.0.1:<port>, got '\(text)'"
        case .badArgument(let text): text
        case .overLimit(let text): text
        case .http(let text): "HTTP: \(text)"
        case .rejected(let request, let status, let body): "\(request) answered \(status): \(body.prefix(300))"
        case .badAnswer(let text): "SDP answer: \(text)"
        case .codec(let text): "codec: \(text)"
        case .socket(let text): "socket: \(text)"
        case .setup(let text): text
        }
    }
}
