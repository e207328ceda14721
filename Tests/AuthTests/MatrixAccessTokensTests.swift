// Matrix access tokens as credentials: the homeserver decides, a success is remembered for at
// most a minute (time passed in), a failure never; a JWT-shaped token never reaches it.

import Synchronization
import Testing
@testable import Auth

/// A homeserver that knows some tokens, counts the questions, and may be down.
final class FakeIdentityProvider: MatrixIdentityProvider {
    let users: [String: String]
    private let state = Mutex<(asked: Int, down: Bool)>((0, false))

    init(_ users: [String: String]) { self.users = users }

    var asked: Int { state.withLock { $0.asked } }
    func setDown(_ down: Bool) { state.withLock { $0.down = down } }

    func whoami(accessToken: String) async -> MatrixWhoAmI {
        let down = state.withLock { state -> Bool in
            state.asked += 1
            return state.down
        }
        if down { return .unavailable("connection refused") }
        return users[accessToken].map(MatrixWhoAmI.user) ?? .unknownToken
    }
}

final class ManualClock: Sendable {
    private let now = Mutex(ContinuousClock.now)
    var instant: ContinuousClock.Instant { now.withLock { $0 } }
    func advance(_ duration: Duration) { now.withLock { $0 += duration } }
}

@Suite struct MatrixAccessTokensTests {
    let provider = FakeIdentityProvider(["syt_alice": "@alice:example.org", "syt_bob": "@bob:example.org"])
    let clock = ManualClock()

    func tokens(lifetime: Duration = .seconds(30), capacity: Int = 100) -> MatrixAccessTokens {
        MatrixAccessTokens(provider: provider, cache: MatrixTokenCache(lifetime: lifetime, capacity: capacity)) { [clock] in clock.instant }
    }

    @Test func aKnownTokenIsAskedOnceWithinTheLifetime() async {
        let tokens = tokens()
        #expect(await tokens.verify("syt_alice") == .user("@alice:example.org"))
        clock.advance(.seconds(29))
        #expect(await tokens.verify("syt_alice") == .user("@alice:example.org"))
        #expect(provider.asked == 1)
        clock.advance(.seconds(2))
        #expect(await tokens.verify("syt_alice") == .user("@alice:example.org"))
        #expect(provider.asked == 2, "an answer older than the lifetime is asked again")
    }

    @Test func failuresAreNeverRemembered() async {
        let tokens = tokens()
        #expect(await tokens.verify("syt_forged") == .unknownToken)
        #expect(await tokens.verify("syt_forged") == .unknownToken)
        provider.setDown(true)
        #expect(await tokens.verify("syt_bob") == .unavailable("connection refused"))
        provider.setDown(false)
        #expect(await tokens.verify("syt_bob") == .user("@bob:example.org"))
        #expect(provider.asked == 4)
    }

    @Test func theLifetimeIsAtMostAMinute() {
        #expect(MatrixTokenCache(lifetime: .seconds(3600)).lifetime == .seconds(60))
        var cache = MatrixTokenCache(lifetime: .zero)
        cache.remember("@a:x", for: "t", now: .now)
        #expect(cache.count == 0)
    }

    @Test func theCacheStaysWithinItsCapacity() {
        var cache = MatrixTokenCache(lifetime: .seconds(30), capacity: 3)
        let t0 = ContinuousClock.now
        for index in 0..<10 {
            cache.remember("@u\(index):x", for: "token-\(index)", now: t0 + .seconds(index))
            #expect(cache.count <= 3)
        }
        #expect(cache.user(for: "token-9", now: t0 + .seconds(10)) == "@u9:x")
        #expect(cache.user(for: "token-0", now: t0 + .seconds(10)) == nil)
    }

    @Test func credentialsDecideJWTsLocallyAndSendTheRestToTheHomeserver() async throws {
        let authority = TokenAuthority(secret: "a-secret-that-is-long-enough-for-hs256-tokens")
        let credentials = Credentials(authority: authority, matrix: tokens())
        let jwt = try authority.makeToken(identity: "@carol:example.org", room: "r1", publish: true, subscribe: false, admin: true, ttl: 60)
        #expect(try await credentials.verify(jwt).get() == Bearer(claims: try authority.verify(jwt).get(), source: .chorus))
        let expired = try authority.makeToken(
            identity: "@carol:example.org", room: "*", publish: false, subscribe: false, admin: false, ttl: 1,
            now: .init(timeIntervalSince1970: 1_000_000))
        #expect(await credentials.verify(expired) == .failure(.invalid("token expired")))
        #expect(provider.asked == 0, "a JWT-shaped token is never the homeserver's to judge")

        let bearer = try await credentials.verify(" syt_alice ").get()
        #expect(bearer.source == .matrix && bearer.identity == "@alice:example.org")
        #expect(!bearer.claims.isAdmin)
        guard case .failure(.invalid) = await credentials.verify("syt_unknown") else { Issue.record("unknown token accepted"); return }
        provider.setDown(true)
        guard case .failure(.unavailable) = await credentials.verify("syt_bob") else { Issue.record("no 503 while down"); return }
    }

    @Test func withoutMatrixOnlyJWTsCount() async {
        let credentials = Credentials(authority: TokenAuthority(secret: "s"))
        #expect(await credentials.verify("syt_alice") == .failure(.invalid("invalid token")))
        #expect(provider.asked == 0)
    }
}
