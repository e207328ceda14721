// What a bearer token proves, whichever kind it is: a Chorus JWT (checked here, with the
// server's secret) or, when Matrix is configured, a Matrix access token (checked by its
// homeserver). A token shaped like a JWT is decided as one, so that an expired Chorus token
// says "token expired" and costs the homeserver nothing; any other token goes to Matrix.

public struct Bearer: Sendable, Equatable {
    public enum Source: Sendable, Equatable {
        /// A Chorus JWT: its claims are what it was signed with.
        case chorus
        /// A Matrix access token: the identity is the Matrix user id; it opens the rooms of
        /// that user's calls and nothing else (see RoomAccess), and grants no admin rights.
        case matrix
    }

    public var claims: AccessClaims
    public var source: Source

    public init(claims: AccessClaims, source: Source) {
        self.claims = claims
        self.source = source
    }

    public var identity: String { claims.identity }
}

/// Why a token was refused: `invalid` is the client's problem (401), `unavailable` the
/// homeserver's (503).
public enum BearerRejection: Error, Sendable, Equatable {
    case invalid(String)
    case unavailable(String)

    public var message: String {
        switch self {
        case .invalid(let message), .unavailable(let message): message
        }
    }
}

public struct Credentials: Sendable {
    public let authority: TokenAuthority
    public let matrix: MatrixAccessTokens?

    public init(authority: TokenAuthority, matrix: MatrixAccessTokens? = nil) {
        self.authority = authority
        self.matrix = matrix
    }

    public func verify(_ token: String) async -> Result<Bearer, BearerRejection> {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        let token = String(token.drop(while: blank).reversed().drop(while: blank).reversed())
        switch authority.verify(token) {
        case .success(let claims):
            return .success(Bearer(claims: claims, source: .chorus))
        case .failure(.expired):
            return .failure(.invalid("token expired"))
        case .failure(.malformed) where matrix != nil && !token.isEmpty:
            break
        case .failure:
            return .failure(.invalid("invalid token"))
        }
        switch await matrix!.verify(token) {
        case .user(let user):
            // Never expires on its own: the homeserver decides, asked again after the cache's lifetime.
            let claims = AccessClaims(identity: user, room: "*", publish: true, subscribe: true, admin: false, expiresAt: Int64.max)
            return .success(Bearer(claims: claims, source: .matrix))
        case .unknownToken:
            return .failure(.invalid("invalid token: neither a Chorus token nor a Matrix access token the homeserver knows"))
        case .unavailable:
            return .failure(.unavailable("the Matrix homeserver cannot be reached to check the access token; try again"))
        }
    }
}
