// Chorus as a Matrix application service: the registration's tokens, the homeserver client, and
// the parts that use them (access tokens for Auth, room membership for new calls, the mirror
// of calls into m.call.* events, the inbox of transactions). `serve` builds one when
// --matrix-homeserver and --matrix-registration are given; it runs as a lifecycle service so
// that queued events get a moment to go out and the HTTP client closes on shutdown.

import Auth
import Logging
import ServiceLifecycle
import SocketIO
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

public final class MatrixAppService: Sendable {
    public let registration: MatrixRegistration
    /// The client-server API base URL Chorus uses (/api/config shows it); nil with a fake homeserver.
    public let homeserverURL: String?
    let homeserver: any MatrixHomeserver
    /// Matrix access tokens as credentials (whoami, cached briefly).
    public let tokens: MatrixAccessTokens
    let mirror: MatrixCallMirror
    let rooms: MatrixRoomMembership
    private let transactions = Mutex(MatrixTransactionLog())
    private let logger: Logger
    private let onShutdown: @Sendable () async -> Void

    /// `homeserver` is the HTTP client in `serve`, a fake in tests; `ringTimeout` is the
    /// `lifetime` of the invites Chorus sends; `candidateBatchDelay` is how long trickled
    /// candidates wait for company (tests that count batches make it long, so that a loaded
    /// machine cannot split one).
    public init(
        registration: MatrixRegistration, homeserver: any MatrixHomeserver, ringTimeout: Duration, logger: Logger,
        tokenCache: MatrixTokenCache = MatrixTokenCache(), homeserverURL: String? = nil,
        candidateBatchDelay: Duration = .milliseconds(250),
        onShutdown: @escaping @Sendable () async -> Void = {}
    ) {
        self.registration = registration
        self.homeserverURL = homeserverURL
        self.homeserver = homeserver
        self.tokens = MatrixAccessTokens(provider: homeserver, cache: tokenCache)
        self.mirror = MatrixCallMirror(
            homeserver: homeserver, ringTimeout: ringTimeout, webURL: registration.url, logger: logger,
            candidateBatchDelay: candidateBatchDelay)
        self.rooms = MatrixRoomMembership(homeserver: homeserver, logger: logger)
        self.logger = logger
        self.onShutdown = onShutdown
    }

    /// `serve`'s: the registration file and the homeserver's client-server API URL.
    public convenience init(homeserverURL: String, registration: MatrixRegistration, ringTimeout: Duration, logger: Logger) {
        let client = MatrixHomeserverClient(baseURL: homeserverURL, asToken: registration.asToken, logger: logger)
        self.init(registration: registration, homeserver: client, ringTimeout: ringTimeout, logger: logger, homeserverURL: client.baseURL) {
            await client.shutdown()
        }
    }

    /// What the call service is told of and asks.
    public var callObserver: any CallObserver { mirror }
    public var roomPolicy: any CallRoomPolicy { rooms }

    /// The hs_token, compared in constant time.
    func acceptsHomeserverToken(_ token: String) -> Bool {
        let expected = Array(registration.hsToken.utf8)
        let given = Array(token.utf8)
        return given.count == expected.count && zip(given, expected).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    enum TransactionOutcome: Equatable {
        case applied, repeated, unavailable
    }

    /// One transaction from the homeserver, applied at most once.
    func receive(transaction id: String, events: [JSONValue], calls: CallService) async -> TransactionOutcome {
        guard transactions.withLock({ $0.begin(id) }) else {
            logger.debug("matrix transaction \(id) again: already applied")
            return .repeated
        }
        let inbox = MatrixCallInbox(calls: calls, homeserver: homeserver, mirror: mirror, logger: logger) {
            Date().timeIntervalSince1970 * 1000
        }
        do throws(MatrixCallInbox.Unavailable) {
            try await inbox.apply(events)
            return .applied
        } catch {
            transactions.withLock { $0.forget(id) }
            return .unavailable
        }
    }

    /// Waits (at most `limit`) for queued events to reach the homeserver (tests; shutdown).
    public func flush(within limit: Duration = .seconds(5)) async {
        _ = try? await withDeadline(limit) { [mirror] in await mirror.idle() }
    }
}

extension MatrixAppService: Service {
    public func run() async throws {
        try? await gracefulShutdown()
        await flush(within: .seconds(3))
        await onShutdown()
    }
}
