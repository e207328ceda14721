// Everything `chorus serve` can be told, with the defaults the README documents.

public struct ChorusConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var httpPort = 8080
    public var udpPort: UInt16 = 40000
    public var announcedIP: String?
    public var database = DatabaseURL.default
    public var jwtSecret: String?
    public var consentTimeout: Duration = .seconds(30)

    public init() {}

    /// The address put in SDP candidates: the announced IP, else the bind host when it is a
    /// concrete address (a wildcard bind cannot be announced).
    public var effectiveAnnouncedIP: String {
        if let announcedIP { return announcedIP }
        return host == "0.0.0.0" || host == "::" ? "127.0.0.1" : host
    }

    public var isLoopbackHost: Bool {
        host == "127.0.0.1" || host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    public enum SecretDecision: Equatable {
        case configured(String)
        case development
        case refused
    }

    /// No secret on loopback: the fixed development secret (with a warning). Elsewhere: refuse,
    /// since anyone could mint tokens with a published secret.
    public var secretDecision: SecretDecision {
        if let jwtSecret, !jwtSecret.isEmpty { return .configured(jwtSecret) }
        return isLoopbackHost ? .development : .refused
    }
}
