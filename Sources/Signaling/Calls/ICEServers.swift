// The STUN and TURN servers handed to peer-to-peer callers (`GET /api/ice-servers`, and with
// every new call). Chorus's own UDP media port answers STUN binding requests, so it is always
// listed; TURN comes from configuration, with time-limited credentials where a shared secret
// is set (TURN REST API, coturn's use-auth-secret) and the old service's static ones as well.

import ICE

import SocketIO

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

public struct ICEServerConfiguration: Sendable, Equatable {
    /// `stun:` URLs; by default Chorus's own media port.
    public var stunURLs: [String]
    /// TURN URLs whose credentials are minted per user from `turnSecret` (CHORUS_TURN_URLS).
    public var turnURLs: [String]
    /// The secret shared with the TURN server (CHORUS_TURN_SECRET, coturn's static-auth-secret).
    public var turnSecret: String?
    /// Lifetime of minted credentials, seconds (CHORUS_TURN_TTL).
    public var turnTTL: Int
    /// The old service's fixed TURN server (TURN_SERVER_URL, TURN_USERNAME, TURN_CREDENTIAL).
    public var staticTURNURLs: [String]
    public var staticTURNUsername: String?
    public var staticTURNCredential: String?

    public init(
        stunURLs: [String] = [], turnURLs: [String] = [], turnSecret: String? = nil, turnTTL: Int = 86_400,
        staticTURNURLs: [String] = [], staticTURNUsername: String? = nil, staticTURNCredential: String? = nil
    ) {
        self.stunURLs = stunURLs
        self.turnURLs = turnURLs
        self.turnSecret = turnSecret
        self.turnTTL = turnTTL
        self.staticTURNURLs = staticTURNURLs
        self.staticTURNUsername = staticTURNUsername
        self.staticTURNCredential = staticTURNCredential
    }

    /// `stun:host:port` for the media port (RFC 7064 §3.1: an IPv6 literal goes in brackets).
    public static func stunURL(host: String, port: UInt16) -> String {
        let literal = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        return "stun:\(literal):\(port)"
    }

    /// Splits a comma-separated list (CHORUS_TURN_URLS), dropping blanks.
    public static func list(_ text: String?) -> [String] {
        guard let text else { return [] }
        return text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// The servers for `user`, shaped like WebRTC's RTCIceServer.
    public func servers(for user: String, now: Date) -> [ICEServer] {
        var servers: [ICEServer] = []
        if !stunURLs.isEmpty { servers.append(ICEServer(urls: stunURLs)) }
        if !turnURLs.isEmpty, let turnSecret, !turnSecret.isEmpty {
            let credentials = TURNCredentials.make(
                secret: turnSecret, user: user, ttl: turnTTL, nowUnixSeconds: Int(now.timeIntervalSince1970))
            servers.append(ICEServer(urls: turnURLs, username: credentials.username, credential: credentials.credential))
        }
        if !staticTURNURLs.isEmpty {
            servers.append(ICEServer(urls: staticTURNURLs, username: staticTURNUsername, credential: staticTURNCredential))
        }
        return servers
    }
}

/// One entry of `iceServers` (W3C WebRTC RTCIceServer: urls, username, credential).
public struct ICEServer: Sendable, Equatable {
    public var urls: [String]
    public var username: String?
    public var credential: String?

    public init(urls: [String], username: String? = nil, credential: String? = nil) {
        self.urls = urls
        self.username = username
        self.credential = credential
    }

    public var json: JSONValue {
        var object: [String: JSONValue] = ["urls": .array(urls.map(JSONValue.string))]
        if let username { object["username"] = .string(username) }
        if let credential { object["credential"] = .string(credential) }
        return .object(object)
    }
}
