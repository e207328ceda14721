// Everything `chorus serve` can be told, with the defaults the README documents.

import Glibc
import RTP
import SFU
import SocketIO

public struct ChorusConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var httpPort = 8080
    public var udpPort: UInt16 = 40000
    /// The ICE-TCP port (RFC 6544 passive candidates, for peers whose UDP is blocked); nil
    /// means the UDP port's number (`effectiveTCPPort`).
    public var tcpPort: UInt16?
    public var announcedIP: String?
    public var database = DatabaseURL.default
    public var jwtSecret: String?
    public var consentTimeout: Duration = .seconds(30)
    /// SRTP implementation on the packet path: OpenSSL EVP (default) or libsrtp2 (reference).
    public var srtpBackend: SRTPBackend = .default
    /// Media worker threads; one per core by default (see MediaServerConfiguration.workers).
    public var workers: Int = ChorusConfiguration.defaultWorkers
    /// Several workers on one UDP port (eBPF steering, needs root) or one port each; by
    /// default the first when it can be set up (see UDPPortSharing).
    public var udpPortSharing: UDPPortSharing = .automatic
    /// Chorus repairs lost packets itself: a history per published track answers subscribers'
    /// NACKs, and Chorus NACKs publishers for what it missed (`--retransmission on`, the
    /// default). Off is the A/B baseline: subscribers' NACKs only go on to the publisher.
    public var retransmission = true

    public static var defaultWorkers: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
    /// Calls nobody answers within this become `missed` (CHORUS_RING_TIMEOUT, seconds).
    public var ringTimeout: Duration = .seconds(60)
    /// How long a user whose realtime connection dropped stays in their calls (CHORUS_GRACE_PERIOD, seconds).
    public var gracePeriod: Duration = .seconds(15)
    /// TURN servers with credentials minted from a shared secret (CHORUS_TURN_URLS, comma-separated).
    public var turnURLs: [String] = []
    /// coturn's static-auth-secret (CHORUS_TURN_SECRET).
    public var turnSecret: String?
    /// Lifetime of minted TURN credentials, seconds (CHORUS_TURN_TTL).
    public var turnTTL = 86_400
    /// The old service's fixed TURN server (TURN_SERVER_URL, comma-separated; TURN_USERNAME; TURN_CREDENTIAL).
    public var staticTURNURLs: [String] = []
    public var staticTURNUsername: String?
    public var staticTURNCredential: String?
    /// Per-user and per-address limits (see ServiceLimits; each has a CHORUS_MAX_* variable).
    public var limits = ServiceLimits()
    /// Media transports one worker may hold (CHORUS_MAX_TRANSPORTS_PER_WORKER).
    public var maximumTransportsPerWorker = 10_000
    /// Timers and limits of the Socket.IO endpoint (`--socketio-*`, CHORUS_SOCKETIO_*).
    public var socketIO = SocketIOConfiguration()
    /// Chorus as a Matrix application service (`--matrix-homeserver`, `--matrix-registration`);
    /// nil: no Matrix.
    public var matrix: MatrixSettings?

    public struct MatrixSettings: Sendable, Equatable {
        /// The homeserver's client-server API base URL (CHORUS_MATRIX_HOMESERVER).
        public var homeserverURL: String
        /// The registration file `chorus matrix-registration` wrote (CHORUS_MATRIX_REGISTRATION).
        public var registrationPath: String

        public init(homeserverURL: String, registrationPath: String) {
            self.homeserverURL = homeserverURL
            self.registrationPath = registrationPath
        }
    }

    public init() {}

    /// `--retransmission`'s values: `on` or `off` (nil for anything else).
    public static func retransmission(parsing text: String) -> Bool? {
        switch text.lowercased() {
        case "on": true
        case "off": false
        default: nil
        }
    }

    /// The ICE-TCP port the workers listen on: `tcpPort`, else the UDP port's number.
    public var effectiveTCPPort: UInt16 { tcpPort ?? udpPort }

    /// The address put in SDP candidates: the announced IP, else the bind host when it is a
    /// concrete address (a wildcard bind cannot be announced).
    public var effectiveAnnouncedIP: String {
        if let announcedIP { return announcedIP }
        return host == "0.0.0.0" || host == "::" ? "127.0.0.1" : host
    }

    /// STUN on Chorus's own media port (it answers binding requests), then the TURN servers.
    public func iceServers(mediaPort: UInt16) -> ICEServerConfiguration {
        ICEServerConfiguration(
            stunURLs: [ICEServerConfiguration.stunURL(host: effectiveAnnouncedIP, port: mediaPort)],
            turnURLs: turnURLs, turnSecret: turnSecret, turnTTL: turnTTL, staticTURNURLs: staticTURNURLs,
            staticTURNUsername: staticTURNUsername, staticTURNCredential: staticTURNCredential)
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
