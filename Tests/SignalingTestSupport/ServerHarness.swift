// The whole HTTP surface for a test: a real MediaServer on an ephemeral UDP port, a call
// service on a temporary SQLite store, the router `serve` uses, and tokens signed with the
// test's secret. In process (Hummingbird's router test client) or on a real socket (`live`,
// for WebSockets). One harness for every Signaling test that speaks HTTP.

import Auth
import Foundation
import Hummingbird
import HummingbirdTesting
import SFU
import Signaling
import Testing

public final class ServerHarness: Sendable {
    public static let secret = "test-secret-that-is-long-enough-for-hs256"

    public let media: MediaServer
    public let authority = TokenAuthority(secret: ServerHarness.secret)
    public let database: TemporaryDatabase
    public let store: SQLiteCallStore
    public let service: CallService
    private let limits: ServiceLimits
    /// Chorus as a Matrix application service (against a FakeHomeserver); nil: no Matrix.
    public let matrix: MatrixAppService?

    public init(
        calls configuration: CallServiceConfiguration = CallServiceConfiguration(), limits: ServiceLimits = ServiceLimits(),
        matrix: MatrixAppService? = nil, now: @escaping @Sendable () -> Date = { Date() }
    ) async throws {
        self.matrix = matrix
        media = try MediaServer(
            configuration: MediaServerConfiguration(host: "127.0.0.1", udpPort: 0, announcedIP: "127.0.0.1"),
            logger: quietLogger("test.media"))
        database = try TemporaryDatabase()
        store = try await database.open()
        service = CallService(
            store: store, configuration: configuration, logger: quietLogger("test.calls"), now: now, media: media,
            observer: matrix?.callObserver, rooms: matrix?.roomPolicy)
        self.limits = limits
    }

    /// The router `serve` builds, over this harness's media, calls and limits (a new one each
    /// time: a Router is not Sendable, the harness is).
    public var router: Router<ChorusRequestContext> {
        ChorusServer.makeRouter(media: media, authority: authority, calls: service, limits: limits, matrix: matrix)
    }

    public func token(
        _ identity: String, room: String = "*", publish: Bool = false, subscribe: Bool = false, admin: Bool = false,
        ttl: Int = 600
    ) throws -> String {
        try authority.makeToken(identity: identity, room: room, publish: publish, subscribe: subscribe, admin: admin, ttl: ttl)
    }

    /// Runs `body` against the router in process, then stops the media workers and closes the
    /// store (also when `body` throws: an SQLite connection must be closed before it goes).
    public func run(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        try await running { try await Application(router: router).test(.router, body) }
    }

    /// Runs `body` against a real listener on 127.0.0.1 (WebSockets need one); `body` gets its port.
    public func runLive(_ body: @escaping @Sendable (any TestClientProtocol, Int) async throws -> Void) async throws {
        let app = ChorusServer.makeApplication(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: quietLogger("test.http"))
        try await running {
            try await app.test(.live) { client in try await body(client, try #require(client.port)) }
        }
    }

    private func running(_ body: () async throws -> Void) async throws {
        media.start()
        defer { media.shutdown() }
        do {
            try await body()
        } catch {
            try? await store.close()
            throw error
        }
        try await store.close()
    }
}
