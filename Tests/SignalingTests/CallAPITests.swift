// The call REST API in process (Hummingbird's router test client) over the real SQLite store:
// every endpoint's happy path and each error the issue lists (400, 401, 403, 404, 409, 413),
// always as `{"error": {"code", "message"}}`, never a 5xx for bad input.

import ChorusTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import ICE
import Logging
import SFU
import SignalingTestSupport
import Testing
@testable import Signaling
@testable import Auth
@testable import SocketIO


private struct Reply {
    var status: HTTPResponse.Status
    var json: JSONValue
    var contentType: String?

    var errorCode: String? { json["error"]?["code"]?.stringValue }
}

extension TestClientProtocol {
    fileprivate func call(_ method: HTTPRequest.Method, _ uri: String, token: String?, body: String? = nil) async throws -> Reply {
        var headers = HTTPFields()
        if let token { headers[.authorization] = "Bearer \(token)" }
        headers[.contentType] = "application/json"
        return try await execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) { response in
            Reply(
                status: response.status, json: JSONValue.parse(Array(response.body.readableBytesView)) ?? .null,
                contentType: response.headers[.contentType])
        }
    }

    fileprivate func initiate(_ token: String, to invitee: String = "@bob:x") async throws -> String {
        let reply = try await call(.post, "/api/calls/initiate", token: token, body: #"{"roomId":"!room:x","callType":"video","invitees":["\#(invitee)"]}"#)
        #expect(reply.status == .created)
        return try #require(reply.json["callId"]?.stringValue)
    }
}

@Suite(.serialized) struct CallAPITests {
    static let calls = CallServiceConfiguration(iceServers: ICEServerConfiguration(stunURLs: ["stun:203.0.113.7:40000"]))

    @Test func aWholeOneToOneCall() async throws {
        let harness = try await ServerHarness(calls: CallAPITests.calls)
        let alice = try harness.token("@alice:x")
        let bob = try harness.token("@bob:x", room: "some-sfu-room")
        try await harness.run { client in
            let created = try await client.call(.post, "/api/calls/initiate", token: alice, body: """
                {"roomId": "!room:example.org", "callType": "video", "invitees": ["@bob:x"], "isGroupCall": false}
                """)
            #expect(created.status == .created)
            #expect(created.contentType == "application/json")
            let callId = try #require(created.json["callId"]?.stringValue)
            #expect(created.json["status"]?.stringValue == "ringing")
            #expect(created.json["callType"]?.stringValue == "video")
            #expect(created.json["isGroupCall"] == .bool(false))
            #expect(created.json["roomId"]?.stringValue == "!room:example.org")
            #expect(created.json["initiator"]?.stringValue == "@alice:x")
            #expect(created.json["iceServers"]?.jsonText == #"[{"urls":["stun:203.0.113.7:40000"]}]"#)
            let createdAt = try #require(created.json["createdAt"]?.stringValue)
            #expect((try? Timestamp.parse(createdAt)) != nil)
            guard case .array(let participants)? = created.json["participants"] else { Issue.record("no participants"); return }
            #expect(participants.count == 2)
            #expect(participants[1].jsonText == #"{"audioEnabled":true,"role":"invitee","status":"invited","user":"@bob:x","videoEnabled":true}"#)

            let active = try await client.call(.get, "/api/calls/active", token: bob)
            #expect(active.json["calls"]?.jsonText.contains(callId) == true)

            let answered = try await client.call(.post, "/api/calls/\(callId)/answer", token: bob)
            #expect(answered.status == .ok)
            #expect(answered.json["status"]?.stringValue == "active")
            #expect(answered.json["answeredAt"]?.stringValue != nil)

            let offer = try await client.call(.post, "/api/calls/\(callId)/offer", token: alice, body: #"{"sdp":"v=0\r\n","type":"offer"}"#)
            #expect(offer.status == .ok)
            #expect(offer.json.jsonText == #"{"callId":"\#(callId)","relayedTo":["@bob:x"]}"#)
            let answer = try await client.call(.post, "/api/calls/\(callId)/answer-sdp", token: bob, body: #"{"sdp":"v=0\r\n","to":"@alice:x"}"#)
            #expect(answer.json["relayedTo"]?.jsonText == #"["@alice:x"]"#)
            let candidate = try await client.call(.post, "/api/calls/\(callId)/ice-candidate", token: alice, body: """
                {"candidate": "candidate:1 1 udp 2130706431 192.0.2.1 50000 typ host", "sdpMid": "0", "sdpMLineIndex": 0}
                """)
            #expect(candidate.status == .ok)

            let muted = try await client.call(.post, "/api/calls/\(callId)/toggle-audio", token: bob, body: #"{"enabled":false}"#)
            #expect(muted.status == .ok)
            let camera = try await client.call(.post, "/api/calls/\(callId)/toggle-video", token: bob, body: #"{"enabled":false}"#)
            #expect(camera.status == .ok)
            let status = try await client.call(.get, "/api/calls/\(callId)/status", token: alice)
            #expect(status.status == .ok)
            guard case .array(let now)? = status.json["participants"] else { Issue.record("no participants"); return }
            #expect(now[1]["audioEnabled"] == .bool(false) && now[1]["videoEnabled"] == .bool(false))
            #expect(now[0]["audioEnabled"] == .bool(true))

            let ended = try await client.call(.post, "/api/calls/\(callId)/end", token: alice, body: #"{"reason":"hangup"}"#)
            #expect(ended.status == .ok)
            #expect(ended.json["status"]?.stringValue == "ended")
            #expect(ended.json["endReason"]?.stringValue == "hangup")
            let again = try await client.call(.post, "/api/calls/\(callId)/end", token: alice)
            #expect(again.status == .conflict)
            #expect(again.errorCode == "conflict")

            let history = try await client.call(.get, "/api/calls/history", token: bob)
            #expect(history.status == .ok)
            #expect(history.json["calls"]?.jsonText.contains(callId) == true)
            #expect(try await client.call(.get, "/api/calls/active", token: bob).json.jsonText == #"{"calls":[]}"#)

            let log = try await harness.store.events(callId)
            #expect(log.map(\.type) == ["initiated", "answered", "offer", "answer-sdp", "ice-candidate", "audio-toggled", "video-toggled", "ended"])
            #expect(log.map(\.actor) == ["@alice:x", "@bob:x", "@alice:x", "@bob:x", "@alice:x", "@bob:x", "@bob:x", "@alice:x"])
            #expect(log[2].payload?.contains(#""sdp":"v=0\r\n""#) == true)
        }
    }

    @Test func everyEndpointWantsABearerToken() async throws {
        let harness = try await ServerHarness(calls: CallAPITests.calls)
        let expired = try harness.token("@alice:x", ttl: -10)
        let forged = try TokenAuthority(secret: "another-secret-of-sufficient-length-123")
            .makeToken(identity: "@alice:x", room: "*", publish: false, subscribe: false, admin: false, ttl: 600)
        let endpoints: [(HTTPRequest.Method, String)] = [
            (.post, "/api/calls/initiate"), (.post, "/api/calls/c/answer"), (.post, "/api/calls/c/reject"),
            (.post, "/api/calls/c/end"), (.post, "/api/calls/c/offer"), (.post, "/api/calls/c/answer-sdp"),
            (.post, "/api/calls/c/ice-candidate"), (.post, "/api/calls/c/toggle-audio"), (.post, "/api/calls/c/toggle-video"),
            (.get, "/api/calls/c/status"), (.get, "/api/calls/active"), (.get, "/api/calls/history"), (.get, "/api/ice-servers"),
        ]
        try await harness.run { client in
            for (method, path) in endpoints {
                for token in [nil, "garbage", expired, forged] as [String?] {
                    let reply = try await client.call(method, path, token: token, body: "{}")
                    #expect(reply.status == .unauthorized, "\(method) \(path)")
                    #expect(reply.errorCode == "unauthorized")
                    #expect(reply.contentType == "application/json")
                }
            }
        }
    }

    @Test func initiateRefusesBadRequests() async throws {
        let harness = try await ServerHarness(calls: CallAPITests.calls)
        let alice = try harness.token("@alice:x")
        let cases: [(String, String)] = [
            ("not json", "bad_json"),
            ("[1,2]", "bad_json"),
            ("", "bad_json"),
            (#"{"callType":"voice","invitees":["@bob:x"]}"#, "missing_field"),
            (#"{"roomId":"","callType":"voice","invitees":["@bob:x"]}"#, "invalid_field"),
            (#"{"roomId":5,"callType":"voice","invitees":["@bob:x"]}"#, "invalid_field"),
            (#"{"roomId":"!r:x","invitees":["@bob:x"]}"#, "missing_field"),
            (#"{"roomId":"!r:x","callType":"fax","invitees":["@bob:x"]}"#, "invalid_field"),
            (#"{"roomId":"!r:x","callType":"voice"}"#, "invalid_field"),
            (#"{"roomId":"!r:x","callType":"voice","invitees":[]}"#, "invalid_field"),
            (#"{"roomId":"!r:x","callType":"voice","invitees":"@bob:x"}"#, "invalid_field"),
            (#"{"roomId":"!r:x","callType":"voice","invitees":[""]}"#, "invalid_field"),
            (#"{"roomId":"!r:x","callType":"voice","invitees":[7]}"#, "invalid_field"),
            (#"{"roomId":"!r:x","callType":"voice","invitees":["@alice:x"]}"#, "invalid_field"),
            (#"{"roomId":"!r:x","callType":"voice","invitees":["@bob:x","@carol:x"]}"#, "invalid_field"),
            (#"{"roomId":"!r:x","callType":"voice","invitees":["@bob:x"],"isGroupCall":"yes"}"#, "invalid_field"),
            (#"{"roomId":"\#(String(repeating: "r", count: 256))","callType":"voice","invitees":["@bob:x"]}"#, "invalid_field"),
        ]
        try await harness.run { client in
            for (body, code) in cases {
                let reply = try await client.call(.post, "/api/calls/initiate", token: alice, body: body)
                #expect(reply.status == .badRequest, "\(body)")
                #expect(reply.errorCode == code, "\(body)")
                #expect(reply.json["error"]?["message"]?.stringValue?.isEmpty == false)
            }
            let huge = #"{"roomId":"!r:x","callType":"voice","invitees":["@bob:x"],"pad":""# + String(repeating: "a", count: 70_000) + #""}"#
            let tooLarge = try await client.call(.post, "/api/calls/initiate", token: alice, body: huge)
            #expect(tooLarge.status == .contentTooLarge)
            #expect(tooLarge.errorCode == "payload_too_large")
            // Duplicates collapse; a group call may have many invitees.
            let group = try await client.call(.post, "/api/calls/initiate", token: alice, body: """
                {"roomId":"!r:x","callType":"voice","invitees":["@bob:x","@carol:x","@bob:x"],"isGroupCall":true}
                """)
            #expect(group.status == .created)
            #expect(group.json["participants"]?.jsonText.components(separatedBy: "@bob:x").count == 2)
        }
    }

    @Test func callEndpointsRefuseUnknownCallsStrangersAndIllegalTransitions() async throws {
        let harness = try await ServerHarness(calls: CallAPITests.calls)
        let alice = try harness.token("@alice:x")
        let bob = try harness.token("@bob:x")
        let mallory = try harness.token("@mallory:x")
        try await harness.run { client in
            let callId = try await client.initiate(alice)
            let actions: [(HTTPRequest.Method, String, String)] = [
                (.post, "answer", "{}"), (.post, "reject", "{}"), (.post, "end", "{}"),
                (.post, "offer", #"{"sdp":"v=0"}"#), (.post, "answer-sdp", #"{"sdp":"v=0"}"#),
                (.post, "ice-candidate", #"{"candidate":"c"}"#), (.post, "toggle-audio", #"{"enabled":true}"#),
                (.post, "toggle-video", #"{"enabled":true}"#), (.get, "status", ""),
            ]
            for (method, action, body) in actions {
                let unknown = try await client.call(method, "/api/calls/00000000-0000-0000-0000-000000000000/\(action)", token: bob, body: body)
                #expect(unknown.status == .notFound, "\(action)")
                #expect(unknown.errorCode == "not_found")
                let stranger = try await client.call(method, "/api/calls/\(callId)/\(action)", token: mallory, body: body)
                #expect(stranger.status == .forbidden, "\(action)")
                #expect(stranger.errorCode == "forbidden")
            }
            // The caller cannot answer or reject its own call.
            #expect(try await client.call(.post, "/api/calls/\(callId)/answer", token: alice).status == .forbidden)
            #expect(try await client.call(.post, "/api/calls/\(callId)/reject", token: alice).status == .forbidden)

            let rejected = try await client.call(.post, "/api/calls/\(callId)/reject", token: bob, body: #"{"reason":"busy"}"#)
            #expect(rejected.status == .ok)
            #expect(rejected.json["status"]?.stringValue == "rejected")
            for (method, action, body) in actions where action != "status" {
                let late = try await client.call(method, "/api/calls/\(callId)/\(action)", token: bob, body: body)
                #expect(late.status == .conflict, "\(action) after reject")
                #expect(late.errorCode == "conflict")
            }
            #expect(try await client.call(.get, "/api/calls/\(callId)/status", token: bob).json["status"]?.stringValue == "rejected")
        }
    }

    @Test func relayAndToggleBodiesAreChecked() async throws {
        let harness = try await ServerHarness(calls: CallAPITests.calls)
        let alice = try harness.token("@alice:x")
        try await harness.run { client in
            let callId = try await client.initiate(alice)
            let cases: [(String, String, String)] = [
                ("offer", "{}", "missing_field"),
                ("offer", #"{"sdp":42}"#, "invalid_field"),
                ("offer", #"{"sdp":""}"#, "invalid_field"),
                ("offer", #"{"sdp":"v=0","to":"@carol:x"}"#, "invalid_field"),
                ("offer", #"{"sdp":"v=0","to":""}"#, "invalid_field"),
                ("offer", "sdp=v=0", "bad_json"),
                ("answer-sdp", #"{"sdp":null}"#, "missing_field"),
                ("ice-candidate", "{}", "missing_field"),
                ("ice-candidate", #"{"candidate":"c","sdpMLineIndex":"0"}"#, "invalid_field"),
                ("ice-candidate", #"{"candidate":"c","sdpMLineIndex":70000}"#, "invalid_field"),
                ("ice-candidate", #"{"candidate":"c","sdpMid":0}"#, "invalid_field"),
                ("toggle-audio", "{}", "missing_field"),
                ("toggle-audio", #"{"enabled":"false"}"#, "invalid_field"),
                ("toggle-video", #"{"enabled":1}"#, "invalid_field"),
                ("toggle-video", "", "bad_json"),
                ("end", #"{"reason":5}"#, "invalid_field"),
                ("reject", "[]", "bad_json"),
            ]
            for (action, body, code) in cases {
                let reply = try await client.call(.post, "/api/calls/\(callId)/\(action)", token: alice, body: body)
                #expect(reply.status == .badRequest, "\(action) \(body)")
                #expect(reply.errorCode == code, "\(action) \(body)")
            }
            // An RTCSessionDescriptionInit object is accepted as `sdp`, and end-of-candidates too.
            let object = try await client.call(.post, "/api/calls/\(callId)/offer", token: alice, body: #"{"sdp":{"type":"offer","sdp":"v=0"}}"#)
            #expect(object.status == .ok)
            let endOfCandidates = try await client.call(.post, "/api/calls/\(callId)/ice-candidate", token: alice, body: #"{"candidate":"","sdpMid":null,"sdpMLineIndex":null}"#)
            #expect(endOfCandidates.status == .ok)
            let huge = #"{"sdp":""# + String(repeating: "a", count: 65 * 1024) + #""}"#
            #expect(try await client.call(.post, "/api/calls/\(callId)/offer", token: alice, body: huge).status == .contentTooLarge)
        }
    }

    @Test func historyPagesAndChecksItsQuery() async throws {
        let harness = try await ServerHarness(calls: CallAPITests.calls)
        let alice = try harness.token("@alice:x")
        try await harness.run { client in
            var ids: [String] = []
            for _ in 0..<5 {
                ids.append(try await client.initiate(alice))
                try await Task.sleep(for: .milliseconds(3))  // distinct creation milliseconds
            }
            var seen: [String] = []
            var uri = "/api/calls/history?limit=2"
            for _ in 0..<3 {
                let page = try await client.call(.get, uri, token: alice)
                #expect(page.status == .ok)
                guard case .array(let calls)? = page.json["calls"] else { Issue.record("no calls"); return }
                seen += calls.compactMap { $0["callId"]?.stringValue }
                guard let next = page.json["nextBefore"]?.stringValue else { break }
                uri = "/api/calls/history?limit=2&before=\(next)"
            }
            #expect(seen == ids.reversed())
            #expect(try await client.call(.get, "/api/calls/history?before=1", token: alice).json.jsonText == #"{"calls":[]}"#)
            for query in ["limit=0", "limit=101", "limit=abc", "limit=-1", "limit=", "before=yesterday", "before=2026-13-01T00:00:00Z", "before=2026-02-30T00:00:00Z"] {
                let reply = try await client.call(.get, "/api/calls/history?\(query)", token: alice)
                #expect(reply.status == .badRequest, "\(query)")
                #expect(reply.errorCode == "invalid_query", "\(query)")
            }
            #expect(try await client.call(.get, "/api/calls/history?limit=100&before=2099-01-01T00:00:00Z", token: alice).status == .ok)
        }
    }

    @Test func twoConcurrentAnswersGetOne200AndOne409() async throws {
        let harness = try await ServerHarness(calls: CallAPITests.calls)
        let alice = try harness.token("@alice:x")
        let bob = try harness.token("@bob:x")
        try await harness.run { client in
            for _ in 0..<5 {
                let callId = try await client.initiate(alice)
                async let first = client.call(.post, "/api/calls/\(callId)/answer", token: bob)
                async let second = client.call(.post, "/api/calls/\(callId)/answer", token: bob)
                let statuses = try await [first.status, second.status].map(\.code).sorted()
                #expect(statuses == [200, 409])
            }
        }
    }

    @Test func iceServersListStunAndTimeLimitedTURN() async throws {
        let harness = try await ServerHarness(calls: CallServiceConfiguration(iceServers: ICEServerConfiguration(
            stunURLs: [ICEServerConfiguration.stunURL(host: "203.0.113.7", port: 40000)],
            turnURLs: ["turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349"],
            turnSecret: "coturn-shared-secret", turnTTL: 3600,
            staticTURNURLs: ["turn:old.example.org:3478"], staticTURNUsername: "legacy", staticTURNCredential: "hunter2")))
        let alice = try harness.token("@alice:x")
        try await harness.run { client in
            let before = Int(Date().timeIntervalSince1970)
            let reply = try await client.call(.get, "/api/ice-servers", token: alice)
            let after = Int(Date().timeIntervalSince1970)
            #expect(reply.status == .ok)
            #expect(reply.json["ttl"] == .number(3600))
            guard case .array(let servers)? = reply.json["iceServers"], servers.count == 3 else {
                Issue.record("expected three servers: \(reply.json.jsonText)")
                return
            }
            #expect(servers[0].jsonText == #"{"urls":["stun:203.0.113.7:40000"]}"#)
            #expect(servers[1]["urls"]?.jsonText == #"["turn:turn.example.org:3478?transport=udp","turns:turn.example.org:5349"]"#)
            let username = try #require(servers[1]["username"]?.stringValue)
            let expiry = try #require(Int(username.prefix { $0 != ":" }))
            #expect((before + 3600...after + 3600).contains(expiry))
            #expect(username == "\(expiry):@alice:x")
            // coturn recomputes the password as base64(HMAC-SHA1(secret, username)).
            let expected = TURNCredentials.make(secret: "coturn-shared-secret", user: "@alice:x", ttl: 3600, nowUnixSeconds: expiry - 3600)
            #expect(servers[1]["credential"]?.stringValue == expected.credential)
            #expect(servers[2].jsonText == #"{"credential":"hunter2","urls":["turn:old.example.org:3478"],"username":"legacy"}"#)
        }
    }
}

@Suite struct CallFormatTests {
    @Test func timestampsRoundTripAtMillisecondPrecision() throws {
        #expect(Timestamp.format(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: 1_700_000_000.1234)) == "2023-11-14T22:13:20.123Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: 1_700_000_000.9996)) == "2023-11-14T22:13:21.000Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: -0.5)) == "1969-12-31T23:59:59.500Z")
        #expect(Timestamp.format(Timestamp.date(milliseconds: 951_782_400_000)) == "2000-02-29T00:00:00.000Z")
        #expect(try Timestamp.parse("2023-11-14T22:13:20.123Z") == Timestamp.date(milliseconds: 1_700_000_000_123))
        #expect(try Timestamp.parse("2023-11-14T23:13:20.1+01:00") == Timestamp.date(milliseconds: 1_700_000_000_100))
        #expect(try Timestamp.parse("2023-11-14T22:13:20.123456789Z") == Timestamp.date(milliseconds: 1_700_000_000_123))
        #expect(try Timestamp.parse("2023-11-14T22:13:20Z") == Timestamp.date(milliseconds: 1_700_000_000_000))
        #expect(try Timestamp.parse("1700000000123") == Timestamp.date(milliseconds: 1_700_000_000_123))
        for bad in ["", "2023-11-14", "2023-11-14T22:13:20", "2023-11-14T22:13:20.Z", "2023-11-14T24:00:00Z",
                    "2023-02-29T00:00:00Z", "2023-11-14T22:13:20Zjunk", "2023-11-14T22:13:20+0100", "１７００", "12345678901234567890"] {
            #expect(throws: TimestampError.self, "\(bad)") { try Timestamp.parse(bad) }
        }
        // Every millisecond over a wide range survives format → parse.
        var generator = SeededGenerator(seed: 4)
        for _ in 0..<2000 {
            let ms = Int64.random(in: -2_000_000_000_000...4_000_000_000_000, using: &generator)
            let date = Timestamp.date(milliseconds: ms)
            #expect(try Timestamp.parse(Timestamp.format(date)) == date)
        }
    }

    @Test func randomTextNeverCrashesTheParsers() {
        var generator = SeededGenerator(seed: 9)
        let alphabet = Array("0123456789-:TZ.+ {}[]\",abcdefnrstu".utf8)
        for _ in 0..<3000 {
            let bytes = (0..<Int.random(in: 0...40, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }
            let text = String(decoding: bytes, as: UTF8.self)
            _ = try? Timestamp.parse(text)
            if let json = JSONValue.parse(bytes) {
                _ = try? InitiateCall(json: json, initiator: "@a:x")
                _ = try? RelayMessage(kind: .candidate, json: json)
                #expect(JSONValue.parse(Array(json.jsonText.utf8)) == json)
            }
        }
    }

    @Test func jsonTextEscapesAndPrintsIntegersPlainly() {
        let value: JSONValue = .object(["b": .number(1), "a": .string("q\"\\\n\u{01}é"), "c": .array([.number(0.5), .null, .bool(false)])])
        #expect(value.jsonText == #"{"a":"q\"\\\n\u0001é","b":1,"c":[0.5,null,false]}"#)
        #expect(JSONValue.parse(Array(value.jsonText.utf8)) == value)
    }

    @Test func stunURLsBracketIPv6() {
        #expect(ICEServerConfiguration.stunURL(host: "192.0.2.1", port: 40000) == "stun:192.0.2.1:40000")
        #expect(ICEServerConfiguration.stunURL(host: "2001:db8::1", port: 3478) == "stun:[2001:db8::1]:3478")
        #expect(ICEServerConfiguration.list(" turn:a:3478 , ,turns:b:5349,") == ["turn:a:3478", "turns:b:5349"])
        #expect(ICEServerConfiguration.list(nil).isEmpty)
    }
}
