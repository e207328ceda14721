// Who a Matrix access token belongs to, as its homeserver answers (`GET
// /_matrix/client/v3/account/whoami`). A protocol, so that `Auth` holds the rules (what is
// cached, what is refused) and knows no HTTP; Signaling implements it with an HTTP client.

/// The homeserver's answer about one access token.
public enum MatrixWhoAmI: Sendable, Equatable {
    /// The token is valid and names this user ("@alice:example.org").
    case user(String)
    /// The homeserver does not know the token (`401 M_UNKNOWN_TOKEN`: bogus, logged out or
    /// expired), or refuses it (`403`: a deactivated or locked account).
    case unknownToken
    /// No answer in time, or one that says nothing about the token (5xx, 429, bad JSON): the
    /// request cannot be decided now. Carries what went wrong, for the log.
    case unavailable(String)
}

public protocol MatrixIdentityProvider: Sendable {
    /// Asks the homeserver; returns within the implementation's bounded timeout.
    func whoami(accessToken: String) async -> MatrixWhoAmI
}
