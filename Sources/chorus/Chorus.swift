// The `chorus` command: serve, token, migrate, loadtest, matrix-registration.

import ArgumentParser
import Logging
import RTP
import SFU
import Signaling

#if canImport(Glibc)
import Glibc
import Auth
#endif

@main
struct Chorus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chorus",
        abstract: "A group-call server: WebRTC SFU (WHIP/WHEP) with server-enforced mute.",
        subcommands: [Serve.self, Token.self, Migrate.self, LoadTestCommand.self, MatrixRegistrationCommand.self],
        defaultSubcommand: Serve.self)
}

/// Reads an environment variable, treating an empty value as unset.
func environment(_ name: String) -> String? {
    guard let value = getenv(name).map({ String(cString: $0) }), !value.isEmpty else { return nil }
    return value
}

func parseDatabase(_ text: String) throws -> DatabaseURL {
    guard let url = DatabaseURL(string: text) else {
        throw ValidationError("--database must be sqlite:///path/file.db, sqlite://./file.db or postgres://...; got '\(text)'")
    }
    return url
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the server (HTTP API + media).")

    @Option(help: "Address to bind HTTP and UDP to (env CHORUS_HOST).")
    var host: String?
    @Option(help: "HTTP port (env CHORUS_HTTP_PORT).")
    var httpPort: Int?
    @Option(help: "UDP port for all media (env CHORUS_UDP_PORT).")
    var udpPort: UInt16?
    @Option(help: "TCP port for ICE-TCP, media of peers whose UDP is blocked; default the UDP port's number (env CHORUS_TCP_PORT).")
    var tcpPort: UInt16?
    @Option(help: "IP put in SDP candidates; defaults to the host (env CHORUS_ANNOUNCED_IP).")
    var announcedIP: String?
    @Option(help: "sqlite:///path/file.db (default sqlite://./chorus.db) or postgres://... (env CHORUS_DATABASE_URL).")
    var database: String?
    @Option(help: "HS256 secret for access tokens (env CHORUS_JWT_SECRET).")
    var jwtSecret: String?
    @Option(help: "Seconds a call rings before it is missed (env CHORUS_RING_TIMEOUT; default 60).")
    var ringTimeout: Int?
    @Option(help: "Seconds a dropped realtime connection stays in its calls (env CHORUS_GRACE_PERIOD; default 15).")
    var gracePeriod: Int?
    @Option(help: "Comma-separated TURN URLs given time-limited credentials (env CHORUS_TURN_URLS).")
    var turnUrls: String?
    @Option(help: "Secret shared with the TURN server, coturn's static-auth-secret (env CHORUS_TURN_SECRET).")
    var turnSecret: String?
    @Option(help: "Lifetime of TURN credentials in seconds (env CHORUS_TURN_TTL; default 86400).")
    var turnTtl: Int?
    @Option(help: "A TURN server with fixed credentials, comma-separated URLs (env TURN_SERVER_URL).")
    var turnServerUrl: String?
    @Option(help: "Username for --turn-server-url (env TURN_USERNAME).")
    var turnUsername: String?
    @Option(help: "Credential for --turn-server-url (env TURN_CREDENTIAL).")
    var turnCredential: String?
    @Option(help: "SRTP implementation: openssl (default) or libsrtp (env CHORUS_SRTP_BACKEND).")
    var srtpBackend: String?
    @Option(help: "Repair lost packets at the SFU: on (default: a history answers subscribers' NACKs, Chorus NACKs publishers) or off (NACKs only passed on to the publisher; for A/B measurements) (env CHORUS_RETRANSMISSION).")
    var retransmission: String?
    @Option(help: "Media worker threads; default one per core (env CHORUS_WORKERS).")
    var workers: Int?
    @Option(help: "Workers on one UDP port (shared: SO_REUSEPORT with eBPF steering, needs root), one port each (per-worker: udp-port + i), or auto: shared when it can be set up (default; env CHORUS_UDP_PORT_SHARING).")
    var udpPortSharing: String?
    @Option(help: "The Matrix homeserver's client-server API base URL, e.g. http://127.0.0.1:8008 (env CHORUS_MATRIX_HOMESERVER); with --matrix-registration, switches Matrix on.")
    var matrixHomeserver: String?
    @Option(help: "The application-service registration written by `chorus matrix-registration` (env CHORUS_MATRIX_REGISTRATION).")
    var matrixRegistration: String?
    @Option(help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: String = "info"
    @OptionGroup(title: "Limits")
    var limits: LimitOptions
    @OptionGroup(title: "Socket.IO")
    var socketIO: SocketIOOptions

    func run() async throws {
        var configuration = ChorusConfiguration()
        configuration.host = host ?? environment("CHORUS_HOST") ?? configuration.host
        if let port = httpPort ?? environment("CHORUS_HTTP_PORT").flatMap({ Int($0) }) {
            guard (0...65535).contains(port) else { throw ValidationError("--http-port must be 0...65535") }
            configuration.httpPort = port
        }
        if let port = udpPort ?? environment("CHORUS_UDP_PORT").flatMap({ UInt16($0) }) {
            configuration.udpPort = port
        }
        if let text = tcpPort.map(String.init) ?? environment("CHORUS_TCP_PORT") {
            guard let port = UInt16(text) else { throw ValidationError("--tcp-port must be 0...65535") }
            configuration.tcpPort = port
        }
        if let count = workers ?? environment("CHORUS_WORKERS").flatMap({ Int($0) }) {
            guard (1...256).contains(count) else { throw ValidationError("--workers must be 1...256") }
            configuration.workers = count
        }
        if let name = udpPortSharing ?? environment("CHORUS_UDP_PORT_SHARING") {
            guard let sharing = UDPPortSharing(rawValue: name) else {
                throw ValidationError("--udp-port-sharing must be one of \(UDPPortSharing.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            configuration.udpPortSharing = sharing
        }
        if let text = retransmission ?? environment("CHORUS_RETRANSMISSION") {
            guard let value = ChorusConfiguration.retransmission(parsing: text) else {
                throw ValidationError("--retransmission must be on or off, not '\(text)'")
            }
            configuration.retransmission = value
        }
        configuration.announcedIP = announcedIP ?? environment("CHORUS_ANNOUNCED_IP")
        if let text = database ?? environment("CHORUS_DATABASE_URL") {
            configuration.database = try parseDatabase(text)
        }
        configuration.jwtSecret = jwtSecret ?? environment("CHORUS_JWT_SECRET")
        if let name = srtpBackend ?? environment("CHORUS_SRTP_BACKEND") {
            guard let backend = SRTPBackend(rawValue: name) else {
                throw ValidationError("--srtp-backend must be one of \(SRTPBackend.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            configuration.srtpBackend = backend
        }
        if let seconds = environment("CHORUS_CONSENT_TIMEOUT").flatMap({ Int($0) }) {
            configuration.consentTimeout = .seconds(seconds)
        }
        if let text = ringTimeout.map(String.init) ?? environment("CHORUS_RING_TIMEOUT") {
            guard let seconds = Int(text), seconds > 0 else { throw ValidationError("--ring-timeout must be a positive number of seconds") }
            configuration.ringTimeout = .seconds(seconds)
        }
        if let text = gracePeriod.map(String.init) ?? environment("CHORUS_GRACE_PERIOD") {
            guard let seconds = Int(text), seconds >= 0 else { throw ValidationError("--grace-period must be 0 or more seconds") }
            configuration.gracePeriod = .seconds(seconds)
        }
        configuration.turnURLs = ICEServerConfiguration.list(turnUrls ?? environment("CHORUS_TURN_URLS"))
        configuration.turnSecret = turnSecret ?? environment("CHORUS_TURN_SECRET")
        if let text = turnTtl.map(String.init) ?? environment("CHORUS_TURN_TTL") {
            guard let seconds = Int(text), seconds > 0 else { throw ValidationError("--turn-ttl must be a positive number of seconds") }
            configuration.turnTTL = seconds
        }
        if !configuration.turnURLs.isEmpty, configuration.turnSecret == nil {
            throw ValidationError("--turn-urls needs --turn-secret (CHORUS_TURN_SECRET) to mint credentials")
        }
        configuration.staticTURNURLs = ICEServerConfiguration.list(turnServerUrl ?? environment("TURN_SERVER_URL"))
        configuration.staticTURNUsername = turnUsername ?? environment("TURN_USERNAME")
        configuration.staticTURNCredential = turnCredential ?? environment("TURN_CREDENTIAL")
        let homeserver = matrixHomeserver ?? environment("CHORUS_MATRIX_HOMESERVER")
        let registration = matrixRegistration ?? environment("CHORUS_MATRIX_REGISTRATION")
        switch (homeserver, registration) {
        case (nil, nil):
            break
        case (let homeserver?, let registration?):
            guard homeserver.hasPrefix("http://") || homeserver.hasPrefix("https://") else {
                throw ValidationError("--matrix-homeserver must be an http:// or https:// URL, not '\(homeserver)'")
            }
            configuration.matrix = .init(homeserverURL: homeserver, registrationPath: registration)
        default:
            throw ValidationError("--matrix-homeserver and --matrix-registration (CHORUS_MATRIX_HOMESERVER, CHORUS_MATRIX_REGISTRATION) go together")
        }
        try limits.apply(to: &configuration)
        try socketIO.apply(to: &configuration.socketIO)
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardOutput(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "chorus")
        do {
            try await ChorusServer.run(configuration, logger: logger)
        } catch {
            logger.critical("\(error)")
            throw ExitCode.failure
        }
    }
}

struct Token: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print an access token (JWT, HS256).")

    @Option(help: "The bearer's identity (the token's sub).")
    var identity: String
    @Option(help: "Room name, or * for every room.")
    var room: String
    @Flag(help: "May publish (WHIP).")
    var publish = false
    @Flag(help: "May subscribe (WHEP).")
    var subscribe = false
    @Flag(help: "Moderator: may mute anyone, and only moderators lift a moderator's mute.")
    var admin = false
    @Option(help: "Lifetime in seconds.")
    var ttl: Int = 3600
    @Option(help: "HS256 secret (env CHORUS_JWT_SECRET; the development secret when unset).")
    var jwtSecret: String?

    func run() async throws {
        guard ttl > 0 else { throw ValidationError("--ttl must be positive") }
        if room != "*", let problem = RoomName.problem(with: room) { throw ValidationError("--room: \(problem)") }
        let secret = jwtSecret ?? environment("CHORUS_JWT_SECRET") ?? TokenAuthority.developmentSecret
        let authority = TokenAuthority(secret: secret)
        print(try authority.makeToken(
            identity: identity, room: room, publish: publish, subscribe: subscribe, admin: admin, ttl: ttl))
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending database migrations and exit.")

    @Option(help: "sqlite:///path/file.db or postgres://... (env CHORUS_DATABASE_URL).")
    var database: String?

    func run() async throws {
        let url = try parseDatabase(database ?? environment("CHORUS_DATABASE_URL") ?? DatabaseURL.default.description)
        let applied = try await Migrator.migrate(url, logger: Logger(label: "chorus.migrate"))
        print(applied.isEmpty ? "database is up to date" : "applied migrations: \(applied.map(String.init).joined(separator: ", "))")
    }
}
