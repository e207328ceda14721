// The HTTP surface in process (Hummingbird's router test client) over a real MediaServer
// bound to an ephemeral UDP port: status codes, JSON errors, auth rules, the WHIP/WHEP
// resource lifecycle and mute rules. Media flow itself is the aiortc integration test's job.

import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import SFU
import ChorusTestSupport
import SignalingTestSupport
import Testing
@testable import Signaling
@testable import Auth


private func headers(token: String?, contentType: String? = "application/sdp") -> HTTPFields {
    var fields = HTTPFields()
    if let token { fields[.authorization] = "Bearer \(token)" }
    if let contentType { fields[.contentType] = contentType }
    return fields
}

private func errorCode(_ response: TestResponse) -> String? {
    struct Body: Decodable {
        struct Detail: Decodable { var code: String; var message: String }
        var error: Detail
    }
    return try? JSONDecoder().decode(Body.self, from: Data(buffer: response.body)).error.code
}

private func text(_ response: TestResponse) -> String {
    String(buffer: response.body)
}

@Suite(.serialized) struct HTTPAPITests {
    @Test func healthAndMetrics() async throws {
        let harness = try await ServerHarness()
        try await harness.run { client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                #expect(text(response).contains("chorus_packets_in_total"))
                #expect(text(response).contains("chorus_packets_dropped_total{reason=\"muted\"}"))
            }
            try await client.execute(uri: "/no/such/path", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(errorCode(response) == "not_found")
            }
        }
    }

    @Test func whipRefusesBadTokensWithJSONErrors() async throws {
        let harness = try await ServerHarness()
        let forged = try TokenAuthority(secret: "another-secret-of-sufficient-length-123")
            .makeToken(identity: "eve", room: "r1", publish: true, subscribe: true, admin: true, ttl: 600)
        let expired = try harness.token("alice", publish: true, ttl: -10)
        let otherRoom = try harness.token("alice", room: "r2", publish: true)
        let viewer = try harness.token("bob", subscribe: true)
        let offer = ByteBuffer(string: SDPFixtures.aiortc)
        try await harness.run { client in
            for (token, status, code) in [
                (nil, HTTPResponse.Status.unauthorized, "unauthorized"), ("garbage", .unauthorized, "unauthorized"),
                (forged, .unauthorized, "unauthorized"), (expired, .unauthorized, "unauthorized"),
                (otherRoom, .forbidden, "forbidden"), (viewer, .forbidden, "forbidden"),
            ] as [(String?, HTTPResponse.Status, String)] {
                try await client.execute(uri: "/whip/r1", method: .post, headers: headers(token: token), body: offer) { response in
                    #expect(response.status == status, "token \(token?.prefix(12) ?? "none")")
                    #expect(errorCode(response) == code)
                    #expect(response.headers[.contentType] == "application/json")
                }
            }
        }
    }

    @Test func whipRefusesBadBodies() async throws {
        let harness = try await ServerHarness()
        let alice = try harness.token("alice", publish: true)
        let datachannelOnly = """
            v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n\
            m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n\
            a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n\
            a=fingerprint:sha-256 \(SDPFixtures.chromiumFingerprint)\r\na=setup:actpass\r\na=sctp-port:5000\r\n
            """
        try await harness.run { client in
            try await client.execute(uri: "/whip/r1", method: .post, headers: headers(token: alice, contentType: "text/plain"), body: ByteBuffer(string: SDPFixtures.aiortc)) { response in
                #expect(response.status == .unsupportedMediaType)
                #expect(errorCode(response) == "unsupported_media_type")
            }
            let huge = ByteBuffer(repeating: UInt8(ascii: "a"), count: 100 * 1024)
            try await client.execute(uri: "/whip/r1", method: .post, headers: headers(token: alice), body: huge) { response in
                #expect(response.status == .contentTooLarge)
            }
            try await client.execute(uri: "/whip/r1", method: .post, headers: headers(token: alice), body: ByteBuffer(string: "hello")) { response in
                #expect(response.status == .badRequest)
                #expect(errorCode(response) == "bad_sdp")
            }
            try await client.execute(uri: "/whip/r1", method: .post, headers: headers(token: alice), body: ByteBuffer(string: datachannelOnly)) { response in
                #expect(response.status == .badRequest)
                #expect(errorCode(response) == "no_usable_codec")
            }
            try await client.execute(uri: "/whip/r1", method: .post, headers: headers(token: alice), body: ByteBuffer(string: SDPFixtures.whep)) { response in
                #expect(response.status == .badRequest, "a recvonly offer cannot publish")
            }
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test func publishSubscribeMuteAndDelete() async throws {
        let harness = try await ServerHarness()
        let alice = try harness.token("alice", publish: true, subscribe: true)
        let bob = try harness.token("bob", subscribe: true)
        let admin = try harness.token("mod", admin: true)
        try await harness.run { client in
            let location = try await client.execute(uri: "/whip/r1", method: .post, headers: headers(token: alice), body: ByteBuffer(string: SDPFixtures.aiortc)) { response -> String in
                #expect(response.status == .created)
                #expect(response.headers[.contentType] == "application/sdp")
                let answer = text(response)
                #expect(answer.contains("a=ice-lite"))
                #expect(answer.contains("a=setup:passive"))
                #expect(answer.contains("typ host"))
                #expect(answer.contains("a=fingerprint:sha-256 \(harness.media.fingerprint.hex)"))
                #expect(answer.contains("127.0.0.1 \(harness.media.udpPort) typ host"))
                return response.headers[.location] ?? ""
            }
            #expect(location.hasPrefix("/whip/r1/"))
            // A page on another origin must be able to read Location (CORS, RFC 9725 §4.8).
            var cors = headers(token: alice)
            cors[.origin] = "http://example.test:8000"
            try await client.execute(uri: "/whip/r1", method: .post, headers: cors, body: ByteBuffer(string: SDPFixtures.aiortc)) { response in
                #expect(response.status == .created)
                #expect(response.headers[.accessControlAllowOrigin] == "*")
                #expect(response.headers[.accessControlExposeHeaders]?.contains("Location") == true)
                if let other = response.headers[.location] {
                    try await client.execute(uri: other, method: .delete, headers: headers(token: alice, contentType: nil)) { _ in }
                }
            }
            let participant = String(location.dropFirst("/whip/r1/".count))

            try await client.execute(uri: "/api/rooms/r1", method: .get, headers: headers(token: bob, contentType: nil)) { response in
                #expect(response.status == .ok)
                let room = try JSONDecoder().decode(RoomState.self, from: Data(buffer: response.body))
                #expect(room.participants.map(\.id) == [participant])
                #expect(room.participants.first?.identity == "alice")
                #expect(Set(room.participants.first?.tracks.map(\.kind) ?? []) == [.audio, .video])
            }

            // WHEP to the participant.
            let whep = try await client.execute(uri: "/whep/r1/\(participant)", method: .post, headers: headers(token: bob), body: ByteBuffer(string: SDPFixtures.whep)) { response -> String in
                #expect(response.status == .created, "\(text(response))")
                let answer = text(response)
                #expect(answer.contains("a=sendonly"))
                #expect(answer.contains("a=ssrc:"))
                return response.headers[.location] ?? ""
            }
            #expect(whep.hasPrefix("/whep/r1/\(participant)/"))
            try await client.execute(uri: "/whep/r1/nobody", method: .post, headers: headers(token: bob), body: ByteBuffer(string: SDPFixtures.whep)) { response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/whep/r1/\(participant)", method: .post, headers: headers(token: try harness.token("x", publish: true)), body: ByteBuffer(string: SDPFixtures.whep)) { response in
                #expect(response.status == .forbidden, "no subscribe grant")
            }

            // Mute rules: viewer may not, admin may, alice may not lift the admin's mute.
            let mute = { (kind: String, muted: Bool) in ByteBuffer(string: #"{"kind":"\#(kind)","muted":\#(muted)}"#) }
            let muteURI = "/api/rooms/r1/participants/\(participant)/mute"
            try await client.execute(uri: muteURI, method: .post, headers: headers(token: bob, contentType: "application/json"), body: mute("video", true)) { response in
                #expect(response.status == .forbidden)
            }
            try await client.execute(uri: muteURI, method: .post, headers: headers(token: admin, contentType: "application/json"), body: mute("video", true)) { response in
                #expect(response.status == .ok)
                let state = try JSONDecoder().decode(ParticipantState.self, from: Data(buffer: response.body))
                #expect(state.videoMuted && !state.audioMuted)
                #expect(state.video.byAdmin)
            }
            try await client.execute(uri: muteURI, method: .post, headers: headers(token: alice, contentType: "application/json"), body: mute("video", false)) { response in
                #expect(response.status == .forbidden)
            }
            try await client.execute(uri: muteURI, method: .post, headers: headers(token: alice, contentType: "application/json"), body: mute("audio", true)) { response in
                #expect(response.status == .ok, "alice may mute herself")
            }
            try await client.execute(uri: muteURI, method: .post, headers: headers(token: alice, contentType: "application/json"), body: mute("audio", false)) { response in
                #expect(response.status == .ok, "and lift her own mute")
            }
            for bad in [#"{"kind":"smell","muted":true}"#, #"{"muted":true}"#, "not json"] {
                try await client.execute(uri: muteURI, method: .post, headers: headers(token: admin, contentType: "application/json"), body: ByteBuffer(string: bad)) { response in
                    #expect(response.status == .badRequest, "\(bad)")
                }
            }
            try await client.execute(uri: "/api/rooms/r1/participants/nobody/mute", method: .post, headers: headers(token: admin, contentType: "application/json"), body: mute("audio", true)) { response in
                #expect(response.status == .notFound)
            }

            // Only the subscriber (or a moderator) ends the subscription; then the publisher leaves.
            try await client.execute(uri: whep, method: .delete, headers: headers(token: alice, contentType: nil)) { response in
                #expect(response.status == .forbidden)
            }
            try await client.execute(uri: whep, method: .delete, headers: headers(token: bob, contentType: nil)) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: whep, method: .delete, headers: headers(token: bob, contentType: nil)) { response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: location, method: .delete, headers: headers(token: alice, contentType: nil)) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/api/rooms/r1", method: .get, headers: headers(token: bob, contentType: nil)) { response in
                #expect(response.status == .notFound, "the room is freed with its last participant")
            }
            try await client.execute(uri: location, method: .delete, headers: headers(token: alice, contentType: nil)) { response in
                #expect(response.status == .notFound)
            }
        }
    }

    @Test func simulcastPublishAndLayerChoice() async throws {
        let harness = try await ServerHarness()
        let alice = try harness.token("alice", publish: true, subscribe: true)
        let bob = try harness.token("bob", subscribe: true)
        let carol = try harness.token("carol", subscribe: true)
        try await harness.run { client in
            // Chromium's three-layer offer is answered with its layers.
            let location = try await client.execute(uri: "/whip/r1", method: .post, headers: headers(token: alice), body: ByteBuffer(string: SDPFixtures.chromiumSimulcast)) { response -> String in
                #expect(response.status == .created, "\(text(response))")
                let answer = text(response)
                #expect(answer.contains("a=simulcast:recv q;h;f"))
                #expect(answer.contains("a=rid:q recv") && answer.contains("a=rid:h recv") && answer.contains("a=rid:f recv"))
                return response.headers[.location] ?? ""
            }
            let participant = String(location.dropFirst("/whip/r1/".count))
            try await client.execute(uri: "/api/rooms/r1", method: .get, headers: headers(token: bob, contentType: nil)) { response in
                let room = try JSONDecoder().decode(RoomState.self, from: Data(buffer: response.body))
                let video = room.participants.first?.tracks.first { $0.kind == .video }
                #expect(video?.layers.map(\.rid) == ["q", "h", "f"])
            }
            let whep = try await client.execute(uri: "/whep/r1/\(participant)", method: .post, headers: headers(token: bob), body: ByteBuffer(string: SDPFixtures.whep)) { response -> String in
                #expect(response.status == .created, "\(text(response))")
                return response.headers[.location] ?? ""
            }
            let subscription = String(whep.split(separator: "/").last ?? "")
            let uri = "/api/rooms/r1/subscriptions/\(subscription)/layers"
            let json = { (body: String) in ByteBuffer(string: body) }

            try await client.execute(uri: uri, method: .post, headers: headers(token: bob, contentType: "application/json"), body: json(#"{"spatial":0}"#)) { response in
                #expect(response.status == .ok, "\(text(response))")
                let state = try JSONDecoder().decode(SubscriptionState.self, from: Data(buffer: response.body))
                let video = state.tracks.first { $0.kind == .video }
                #expect(video?.targetSpatialLayer == 0)
                #expect(video?.spatialLayer == nil, "no keyframe yet")
            }
            try await client.execute(uri: uri, method: .post, headers: headers(token: bob, contentType: "application/json"), body: json(#"{"spatial":1,"temporal":2}"#)) { response in
                let state = try JSONDecoder().decode(SubscriptionState.self, from: Data(buffer: response.body))
                let video = state.tracks.first { $0.kind == .video }
                #expect(video?.targetSpatialLayer == 1 && video?.temporalLayer == 2)
            }
            for (bad, code) in [(#"{"spatial":3}"#, "bad_layer"), (#"{"spatial":-1}"#, "bad_layer"), (#"{"spatial":1,"temporal":9}"#, "bad_layer"),
                                (#"{"spatial":"high"}"#, "bad_json"), (#"{"temporal":1}"#, "bad_json"), ("not json", "bad_json")] {
                try await client.execute(uri: uri, method: .post, headers: headers(token: bob, contentType: "application/json"), body: json(bad)) { response in
                    #expect(response.status == .badRequest, "\(bad)")
                    #expect(errorCode(response) == code, "\(bad)")
                }
            }
            try await client.execute(uri: uri, method: .post, headers: headers(token: carol, contentType: "application/json"), body: json(#"{"spatial":0}"#)) { response in
                #expect(response.status == .forbidden, "only the subscriber or a moderator")
            }
            try await client.execute(uri: "/api/rooms/r1/subscriptions/nobody/layers", method: .post, headers: headers(token: bob, contentType: "application/json"), body: json(#"{"spatial":0}"#)) { response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/api/rooms/r2/subscriptions/\(subscription)/layers", method: .post, headers: headers(token: bob, contentType: "application/json"), body: json(#"{"spatial":0}"#)) { response in
                #expect(response.status == .notFound, "no such room")
            }
            try await client.execute(uri: uri, method: .post, headers: headers(token: nil, contentType: "application/json"), body: json(#"{"spatial":0}"#)) { response in
                #expect(response.status == .unauthorized)
            }
        }
    }
}
