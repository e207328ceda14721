// The JSON the load test exchanges with Janus 1.x: the envelope of the Janus API (create,
// attach, message, keepalive, destroy; replies success, error, ack, event) and the VideoRoom
// requests and replies carried inside it (multistream API: subscribers name `streams`).
// https://janus.conf.meetecho.com/docs/rest.html and .../videoroom.html

import Foundation

/// A JSEP description as Janus carries it next to a plugin message or event.
struct JanusJSEP: Codable, Equatable, Sendable {
    var type: String
    var sdp: String
}

/// A VideoRoom request (the `body` of a Janus `message`).
enum VideoRoomRequest: Encodable, Equatable, Sendable {
    /// A room that only lives as long as this Janus process (`permanent: false`). `bitrate` 0
    /// caps nothing; periodic keyframe requests stay off (`fir_freq` 0), as in Chorus.
    case create(room: UInt64, description: String, publishers: Int)
    case destroy(room: UInt64)
    /// Joins as a publisher and publishes the JSEP offer sent along in one step.
    case publish(room: UInt64, display: String)
    /// Joins as a subscriber to one publisher's every stream; Janus answers with an offer.
    case subscribe(room: UInt64, feed: UInt64)
    /// The subscriber's JSEP answer goes along with this.
    case start

    var name: String {
        switch self {
        case .create: "create"
        case .destroy: "destroy"
        case .publish: "joinandconfigure"
        case .subscribe: "join"
        case .start: "start"
        }
    }

    private enum Keys: String, CodingKey {
        case request, room, description, publishers, bitrate, permanent, ptype, display, streams, audiocodec, videocodec
        case notifyJoining = "notify_joining"
        case firFrequency = "fir_freq"
    }

    private struct StreamChoice: Encodable {
        var feed: UInt64
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(name, forKey: .request)
        switch self {
        case .create(let room, let description, let publishers):
            try container.encode(room, forKey: .room)
            try container.encode(description, forKey: .description)
            try container.encode(publishers, forKey: .publishers)
            try container.encode(0, forKey: .bitrate)
            try container.encode(0, forKey: .firFrequency)
            try container.encode(false, forKey: .permanent)
            try container.encode(false, forKey: .notifyJoining)
            try container.encode("opus", forKey: .audiocodec)
            try container.encode("vp8", forKey: .videocodec)
        case .destroy(let room):
            try container.encode(room, forKey: .room)
            try container.encode(false, forKey: .permanent)
        case .publish(let room, let display):
            try container.encode(room, forKey: .room)
            try container.encode("publisher", forKey: .ptype)
            try container.encode(display, forKey: .display)
        case .subscribe(let room, let feed):
            try container.encode(room, forKey: .room)
            try container.encode("subscriber", forKey: .ptype)
            try container.encode([StreamChoice(feed: feed)], forKey: .streams)
        case .start:
            break
        }
    }
}

/// One request to the Janus API: `janus` names the verb; `body` and `jsep` go with `message`.
struct JanusRequest: Encodable, Sendable {
    var janus: String
    var transaction: String
    var plugin: String?
    var body: VideoRoomRequest?
    var jsep: JanusJSEP?

    func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding strings, integers and a closed enum cannot fail.
        return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }
}

/// A reply or event from the Janus API, with only the fields the load test reads.
struct JanusReply: Decodable, Equatable, Sendable {
    /// "success", "error", "ack", "event", "keepalive", or a notification ("webrtcup", "media",
    /// "slowlink", "hangup", "detached", "timeout").
    var janus: String
    var transaction: String?
    var sessionID: UInt64?
    /// The handle an event comes from.
    var sender: UInt64?
    /// `create` and `attach` succeed with the new session or handle id here.
    var data: NewID?
    var error: CoreError?
    var plugindata: PluginData?
    var jsep: JanusJSEP?

    struct NewID: Decodable, Equatable, Sendable {
        var id: UInt64
    }

    struct CoreError: Decodable, Equatable, Sendable {
        var code: Int
        var reason: String
    }

    struct PluginData: Decodable, Equatable, Sendable {
        var plugin: String
        var data: VideoRoomReply
    }

    private enum CodingKeys: String, CodingKey {
        case janus, transaction, sender, data, error, plugindata, jsep
        case sessionID = "session_id"
    }

    /// One reply object (what a POST answers).
    init(parsing text: String) throws(LoadTestError) {
        do {
            self = try JSONDecoder().decode(JanusReply.self, from: Data(text.utf8))
        } catch {
            throw .http("Janus reply is not the JSON expected (\(Self.reason(error))): \(text.prefix(200))")
        }
    }

    /// What a long poll (`GET /janus/<session>?maxev=N`) returns: an array of events, or one
    /// object when Janus had only a keepalive to send.
    static func events(parsing text: String) throws(LoadTestError) -> [JanusReply] {
        let trimmed = text.drop { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" }
        guard trimmed.hasPrefix("[") else { return [try JanusReply(parsing: text)] }
        do {
            return try JSONDecoder().decode([JanusReply].self, from: Data(text.utf8))
        } catch {
            throw .http("Janus events are not the JSON expected (\(reason(error))): \(text.prefix(200))")
        }
    }

    /// What the plugin said (a synchronous reply or an event), if anything.
    var videoRoom: VideoRoomReply? { plugindata?.data }

    private static func reason(_ error: any Error) -> String {
        switch error as? DecodingError {
        case .keyNotFound(let key, _): "no '\(key.stringValue)'"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            context.codingPath.map(\.stringValue).joined(separator: ".") + ": " + context.debugDescription
        default: "\(error)"
        }
    }
}

/// The VideoRoom's part of a reply: `videoroom` says what happened ("created", "joined",
/// "attached", "event", "destroyed"), errors come as `error_code` and `error`.
struct VideoRoomReply: Decodable, Equatable, Sendable {
    var videoroom: String?
    var room: UInt64?
    /// A publisher's feed id ("joined").
    var id: UInt64?
    var errorCode: Int?
    var error: String?
    /// "ok" once a subscriber's answer was taken ("event" after `start`).
    var started: String?
    var streams: [Stream]?

    struct Stream: Decodable, Equatable, Sendable {
        var type: String
        var mid: String?
        var codec: String?
        /// A subscriber's stream: which publisher feed it carries.
        var feedID: UInt64?

        private enum CodingKeys: String, CodingKey {
            case type, mid, codec
            case feedID = "feed_id"
        }
    }

    private enum CodingKeys: String, CodingKey {
        case videoroom, room, id, error, started, streams
        case errorCode = "error_code"
    }

    /// VideoRoom error 428: the feed does not exist, or has not published yet (its
    /// PeerConnection is not up), so a subscriber cannot join it yet.
    static let noSuchFeed = 428
}
