// Matrix access tokens as Chorus credentials: the homeserver says whose a token is, a short
// cache spares it a request per API call. Bounded: the provider has its own timeout, and a
// failure is never remembered (issue 15).

import Synchronization

public final class MatrixAccessTokens: Sendable {
    private let provider: any MatrixIdentityProvider
    private let cache: Mutex<MatrixTokenCache>
    private let now: @Sendable () -> ContinuousClock.Instant

    public init(
        provider: any MatrixIdentityProvider, cache: MatrixTokenCache = MatrixTokenCache(),
        now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }
    ) {
        self.provider = provider
        self.cache = Mutex(cache)
        self.now = now
    }

    /// The token's user, from the cache or the homeserver.
    public func verify(_ token: String) async -> MatrixWhoAmI {
        if let user = cache.withLock({ $0.user(for: token, now: now()) }) { return .user(user) }
        let answer = await provider.whoami(accessToken: token)
        if case .user(let user) = answer {
            cache.withLock { $0.remember(user, for: token, now: now()) }
        }
        return answer
    }
}
