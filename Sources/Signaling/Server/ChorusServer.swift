// Assembles Chorus: the SFU's workers, the HTTP API and the database, run under
// swift-service-lifecycle so that SIGTERM/SIGINT close every transport before exit.

import Hummingbird
import Logging
import SFU
import ServiceLifecycle

public enum ChorusServerError: Error, CustomStringConvertible {
    case noSecret

    public var description: String {
        switch self {
        case .noSecret:
            "refusing to start on a non-loopback host without a JWT secret: set CHORUS_JWT_SECRET or --jwt-secret"
        }
    }
}

/// The SFU as a lifecycle service: workers run until graceful shutdown, then close transports.
struct MediaService: Service {
    let media: MediaServer

    func run() async throws {
        media.start()
        try? await gracefulShutdown()
        media.shutdown()
    }
}

public enum ChorusServer {
    /// Builds the HTTP router for a media server (also used by in-process tests).
    public static func makeRouter(media: MediaServer, authority: TokenAuthority) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: ErrorMiddleware())
        // RFC 9725 §4.8 expects WHIP servers to serve browsers on other origins.
        router.add(middleware: CORSMiddleware(
            allowOrigin: .all, allowHeaders: [.authorization, .contentType],
            allowMethods: [.get, .post, .delete, .patch, .options], exposedHeaders: ["Location"]))
        let authorizer = Authorizer(authority: authority)
        MediaRoutes(media: media, authorizer: authorizer).register(on: router)
        RoomRoutes(media: media, authorizer: authorizer).register(on: router)
        OperationsRoutes(media: media, metrics: ChorusMetrics()).register(on: router)
        return router
    }

    /// Runs until SIGTERM or SIGINT.
    public static func run(_ configuration: ChorusConfiguration, logger: Logger) async throws {
        let secret: String
        switch configuration.secretDecision {
        case .configured(let value):
            secret = value
        case .development:
            logger.warning("no JWT secret configured: using the development secret '\(TokenAuthority.developmentSecret)' (loopback only)")
            secret = TokenAuthority.developmentSecret
        case .refused:
            throw ChorusServerError.noSecret
        }
        let applied = try await Migrator.migrate(configuration.database, logger: logger)
        logger.info("database \(configuration.database) ready (\(applied.count) migration(s) applied)")

        let media = try MediaServer(
            configuration: MediaServerConfiguration(
                host: configuration.host, udpPort: configuration.udpPort,
                announcedIP: configuration.effectiveAnnouncedIP, consentTimeout: configuration.consentTimeout),
            logger: logger)
        let authority = TokenAuthority(secret: secret)
        if authority.isSecretShort, secret != TokenAuthority.developmentSecret {
            logger.warning("the JWT secret is shorter than 32 bytes (RFC 7518 §3.2): use a longer random secret")
        }
        let app = Application(
            router: makeRouter(media: media, authority: authority),
            configuration: .init(address: .hostname(configuration.host, port: configuration.httpPort), serverName: "chorus"),
            logger: logger)
        logger.info("media on udp \(configuration.host):\(media.udpPort), announced as \(configuration.effectiveAnnouncedIP); DTLS fingerprint sha-256 \(media.fingerprint.hex)")
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: MediaService(media: media)), .init(service: app)],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        logger.info("chorus stopped")
    }
}
