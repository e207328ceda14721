// Assembles Chorus: the SFU's workers, the HTTP API and the database, run under
// swift-service-lifecycle so that SIGTERM/SIGINT close every transport before exit.

import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import SFU
import ServiceLifecycle
import SDP
import Auth
#if canImport(Glibc)
import Glibc
#endif

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

public enum ChorusServerError: Error, CustomStringConvertible {
    case noSecret
    case matrixRegistration(String)
    /// The HTTP listener could not bind: NIO's own error does not say which address.
    case httpListen(address: String, underlying: any Error)

    public var description: String {
        switch self {
        case .noSecret:
            "refusing to start on a non-loopback host without a JWT secret: set CHORUS_JWT_SECRET or --jwt-secret"
        case .matrixRegistration(let problem):
            "the Matrix registration file cannot be used: \(problem)"
        case .httpListen(let address, let underlying):
            "bind/listen http \(address) failed: \(underlying)"
        }
    }
}

/// The HTTP application as a lifecycle service; a failed bind names its address.
struct HTTPService<App: ApplicationProtocol>: Service {
    let app: App
    let address: String

    func run() async throws {
        do {
            try await app.run()
        } catch let error as IOError where error.errnoCode == EADDRINUSE || error.errnoCode == EACCES || error.errnoCode == EADDRNOTAVAIL {
            throw ChorusServerError.httpListen(address: address, underlying: error)
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
    /// Builds the router of every HTTP and WebSocket route (also used by in-process tests).
    /// With `calls`, the call API (`/api/calls/...`, `/api/ice-servers`) and the realtime
    /// transports (by default the native WebSocket at /ws; Socket.IO adds itself here) are added.
    public static func makeRouter(
        media: MediaServer, authority: TokenAuthority, calls: CallService? = nil,
        realtime: [any RealtimeTransport] = [WebSocketTransport(), SocketIOTransport()], devTokens: Bool = false,
        limits: ServiceLimits = ServiceLimits(), matrix: MatrixAppService? = nil
    ) -> Router<ChorusRequestContext> {
        let router = Router(context: ChorusRequestContext.self)
        router.add(middleware: WebSocketRefusalMiddleware())
        // RFC 9725 §4.8 expects WHIP servers to serve browsers on other origins. Outside the
        // error middleware: CORS wraps errors it sees thrown into a 500 of its own, so it must
        // see them already turned into responses (a cross-origin 403 stays a 403).
        router.add(middleware: CORSMiddleware(
            allowOrigin: .all, allowHeaders: [.authorization, .contentType],
            allowMethods: [.get, .post, .delete, .patch, .options], exposedHeaders: ["Location"]))
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: ExposeHeadersMiddleware(headers: "Location"))
        // Matrix access tokens are credentials too when a homeserver is configured.
        let credentials = Credentials(authority: authority, matrix: matrix?.tokens)
        let authorizer = Authorizer(credentials: credentials)
        let access = RoomAccess(authorizer: authorizer, calls: calls)
        MediaRoutes(media: media, access: access, limits: limits).register(on: router)
        RoomRoutes(media: media, access: access).register(on: router)
        OperationsRoutes(media: media, metrics: ChorusMetrics(), store: calls?.store).register(on: router)
        OpenAPIRoute().register(on: router)
        WebClientRoutes(authority: authority, devTokens: devTokens, matrixHomeserver: matrix?.homeserverURL).register(on: router)
        MatrixAppServiceRoutes(service: matrix, calls: calls).register(on: router)
        if let calls {
            CallRoutes(calls: calls, authorizer: authorizer).register(on: router)
            for transport in realtime {
                transport.register(on: router, handler: calls, credentials: credentials)
            }
        }
        return router
    }

    /// The HTTP/1.1 server with WebSocket upgrades routed through the same router.
    public static func makeApplication(
        router: Router<ChorusRequestContext>, configuration: ApplicationConfiguration, logger: Logger
    ) -> some ApplicationProtocol {
        Application(
            router: router,
            server: .http1WebSocketUpgrade(
                webSocketRouter: router,
                // RFC 6455 §8.1: a text message that is not UTF-8 fails the connection (1007).
                configuration: .init(ws: .init(maxFrameSize: WebSocketTransport.maximumMessageBytes, validateUTF8: true))),
            configuration: configuration, logger: logger)
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
        let media = try MediaServer(
            configuration: MediaServerConfiguration(
                host: configuration.host, udpPort: configuration.udpPort, tcpPort: configuration.effectiveTCPPort,
                announcedIP: configuration.effectiveAnnouncedIP, consentTimeout: configuration.consentTimeout,
                srtpBackend: configuration.srtpBackend, workers: configuration.workers,
                portSharing: configuration.udpPortSharing,
                maximumTransportsPerWorker: configuration.maximumTransportsPerWorker,
                retransmission: configuration.retransmission),
            logger: logger)
        let authority = TokenAuthority(secret: secret)
        if authority.isSecretShort, secret != TokenAuthority.developmentSecret {
            logger.warning("the JWT secret is shorter than 32 bytes (RFC 7518 §3.2): use a longer random secret")
        }
        // The listener opens before the database (CallStoreService): until the store is open
        // and migrated, /healthz answers 503 "starting" and the call API 503.
        let store = DeferredCallStore()
        let matrix = try configuration.matrix.map { matrix in
            let text: String
            do {
                text = try String(contentsOfFile: matrix.registrationPath, encoding: .utf8)
            } catch {
                throw ChorusServerError.matrixRegistration("cannot read \(matrix.registrationPath): \(error)")
            }
            let registration: MatrixRegistration
            do {
                registration = try MatrixRegistration(yaml: text)
            } catch {
                throw ChorusServerError.matrixRegistration("\(matrix.registrationPath): \(error)")
            }
            logger.info("matrix: application service '\(registration.id)' for \(registration.serverName), homeserver \(matrix.homeserverURL)")
            return MatrixAppService(
                homeserverURL: matrix.homeserverURL, registration: registration, ringTimeout: configuration.ringTimeout, logger: logger)
        }
        let calls = CallService(
            store: store,
            configuration: CallServiceConfiguration(
                ringTimeout: configuration.ringTimeout, gracePeriod: configuration.gracePeriod,
                iceServers: configuration.iceServers(mediaPort: media.udpPort), limits: configuration.limits),
            logger: logger, media: media, observer: matrix?.callObserver, rooms: matrix?.roomPolicy)
        let app = makeApplication(
            router: makeRouter(
                media: media, authority: authority, calls: calls,
                realtime: [WebSocketTransport(), SocketIOTransport(configuration: configuration.socketIO)],
                devTokens: configuration.secretDecision == .development, limits: configuration.limits, matrix: matrix),
            configuration: .init(address: .hostname(configuration.host, port: configuration.httpPort), serverName: "chorus"),
            logger: logger)
        let http = HTTPService(app: app, address: "\(configuration.host):\(configuration.httpPort)")
        let ports = media.sharesPort
            ? "\(media.udpPort) (shared by \(media.udpPorts.count) workers: SO_REUSEPORT with eBPF steering)"
            : "\(media.udpPorts.map(String.init).joined(separator: ",")) (\(media.udpPorts.count) worker(s), one port each)"
        logger.info("media on udp \(configuration.host):\(ports), announced as \(configuration.effectiveAnnouncedIP); DTLS fingerprint sha-256 \(media.fingerprint.hex)")
        let tcpPorts = Array(Set(media.tcpPorts)).sorted()
        logger.info("ice-tcp on tcp \(configuration.host):\(tcpPorts.map(String.init).joined(separator: ",")) (passive candidates, below udp)")
        if !configuration.retransmission {
            logger.notice("retransmission off: no packet history and no NACKs from Chorus; subscribers' NACKs go to the publisher")
        }
        // All start at once (the listener does not wait for the database) and stop in reverse
        // order: HTTP first, so that no request reaches a stopped call service; the database
        // last. If the database cannot be opened, the others shut down gracefully and its
        // error ends `run`.
        let services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(
                service: CallStoreService(database: configuration.database, store: store, logger: logger),
                failureTerminationBehavior: .gracefullyShutdownGroup),
            .init(service: MediaService(media: media)), .init(service: calls), .init(service: http),
        ] + (matrix.map { [.init(service: $0)] } ?? [])
        let group = ServiceGroup(
            configuration: .init(
                services: services + [.init(service: ShutdownDeadline(limit: .seconds(5), logger: logger))],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        logger.info("chorus stopped")
    }
}
