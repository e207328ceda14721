// The native WebSocket at /ws on a live server: tokens (header, query, refused upgrades), a whole
// 1-to-1 call driven by REST and WebSocket frames, events reaching only participants, `error`
// events for bad frames on a connection that stays open, and a drop ending the call after the
// grace period.

import Foundation
import Hummingbird
import HummingbirdTesting
import HummingbirdWSTesting
import Logging
import NIOCore
import SFU
import SignalingTestSupport
import Synchronization
import Testing
import WSClient
import WSCore
@testable import Signaling
@testable import Auth
@testable import SocketIO


/// A WebSocket client that records every event it receives; `send` writes a text frame.
/// Sendable by confinement: `task` is set once, in `connect`, before the socket is handed out.
private final class TestSocket: @unchecked Sendable {
    let user: String
    private let received = Mutex<[RealtimeEvent]>([])
    private let outgoing: AsyncStream<WebSocketOutboundWriter.OutboundFrame>
    private let continuation: AsyncStream<WebSocketOutboundWriter.OutboundFrame>.Continuation
    private var task: Task<WebSocketCloseFrame?, any Error>?

    init(user: String) {
        self.user = user
        (outgoing, continuation) = AsyncStream.makeStream()
    }

    static func connect(port: Int, user: String, token: String, viaQuery: Bool = false) -> TestSocket {
        let socket = TestSocket(user: user)
        let url = viaQuery ? "ws://127.0.0.1:\(port)/ws?token=\(token)" : "ws://127.0.0.1:\(port)/ws"
        var headers = HTTPFields()
        if !viaQuery { headers[.authorization] = "Bearer \(token)" }
        let outgoing = socket.outgoing
        socket.task = Task {
            try await WebSocketClient.connect(
                url: url, configuration: .init(maxFrameSize: 1 << 20, additionalHeaders: headers), logger: quietLogger("test.ws")
            ) { inbound, outbound, _ in
                let writer = Task {
                    for await frame in outgoing { try await outbound.write(frame) }
                    try await outbound.close(.normalClosure, reason: nil)
                }
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    guard case .text(let text) = message, let json = JSONValue.parse(Array(text.utf8)),
                        let name = json["event"]?.stringValue
                    else { continue }
                    socket.received.withLock { $0.append(RealtimeEvent(name, json["data"] ?? .null)) }
                }
                writer.cancel()
            }
        }
        return socket
    }

    var events: [RealtimeEvent] { received.withLock { $0 } }

    func events(_ name: String) -> [RealtimeEvent] { events.filter { $0.event == name } }

    func send(_ text: String) { continuation.yield(.text(text)) }

    func send(_ event: String, _ data: JSONValue) {
        send(JSONValue.object(["event": .string(event), "data": data]).jsonText)
    }

    func sendBinary(_ bytes: [UInt8]) { continuation.yield(.binary(ByteBuffer(bytes: bytes))) }

    func next(_ name: String, timeout: Duration = .seconds(5), where predicate: (RealtimeEvent) -> Bool = { _ in true }) async throws -> RealtimeEvent {
        try await waitFor(timeout: timeout, "\(user) to receive \(name)") { events.first { $0.event == name && predicate($0) } }
    }

    /// Closes the connection and waits until it is closed.
    func close() async {
        continuation.finish()
        _ = await task?.result
    }

    /// Whether the connection attempt failed (a refused upgrade).
    func failure() async -> (any Error)? {
        if case .failure(let error) = await task?.result { return error }
        return nil
    }
}

extension ServerHarness {
    fileprivate func connect(_ user: String, port: Int, viaQuery: Bool = false) async throws -> TestSocket {
        let before = service.connectionCount(of: user)
        let socket = TestSocket.connect(port: port, user: user, token: try token(user), viaQuery: viaQuery)
        try await waitFor("\(user) to connect") { service.connectionCount(of: user) > before ? true : nil }
        return socket
    }
}

private func rest(_ client: any TestClientProtocol, _ method: HTTPRequest.Method, _ uri: String, token: String, body: String? = nil) async throws -> (HTTPResponse.Status, JSONValue) {
    try await client.execute(
        uri: uri, method: method, headers: [.authorization: "Bearer \(token)", .contentType: "application/json"],
        body: body.map { ByteBuffer(string: $0) }
    ) { response in
        (response.status, JSONValue.parse(Array(response.body.readableBytesView)) ?? .null)
    }
}

@Suite(.serialized) struct RealtimeWebSocketTests {
    @Test func upgradesNeedAValidToken() async throws {
        let harness = try await ServerHarness()
        let forged = try TokenAuthority(secret: "another-secret-of-sufficient-length-123")
            .makeToken(identity: "@eve:x", room: "*", publish: false, subscribe: false, admin: false, ttl: 600)
        try await harness.runLive { client, port in
            for token in ["", "garbage", forged] {
                let socket = TestSocket.connect(port: port, user: "@eve:x", token: token)
                let error = await socket.failure()
                #expect(error as? WebSocketClientError == .webSocketUpgradeFailed, "token '\(token.prefix(10))'")
            }
            #expect(harness.service.connectionCount(of: "@eve:x") == 0)
            // The refusal is a 401 with the API's JSON error.
            try await client.execute(uri: "/ws", method: .get) { response in
                #expect(response.status == .unauthorized)
                #expect(String(buffer: response.body).contains(#""code":"unauthorized""#))
            }
            // Header and query both work.
            let header = try await harness.connect("@alice:x", port: port)
            let query = try await harness.connect("@alice:x", port: port, viaQuery: true)
            #expect(harness.service.connectionCount(of: "@alice:x") == 2)
            await header.close()
            await query.close()
            try await waitFor("both to disconnect") { harness.service.connectionCount(of: "@alice:x") == 0 ? true : nil }
        }
    }

    @Test func aWholeCallOverRESTAndTheWebSocket() async throws {
        let harness = try await ServerHarness(calls: CallServiceConfiguration(gracePeriod: .milliseconds(300)))
        let aliceToken = try harness.token("@alice:x")
        let bobToken = try harness.token("@bob:x")
        try await harness.runLive { client, port in
            let alice = try await harness.connect("@alice:x", port: port)
            let bob = try await harness.connect("@bob:x", port: port)
            let carol = try await harness.connect("@carol:x", port: port)

            let (created, call) = try await rest(client, .post, "/api/calls/initiate", token: aliceToken, body: """
                {"roomId": "!room:x", "callType": "video", "invitees": ["@bob:x"]}
                """)
            #expect(created == .created)
            let callId = try #require(call["callId"]?.stringValue)
            let incoming = try await bob.next("incoming-call")
            #expect(incoming.data["callId"]?.stringValue == callId)
            #expect(incoming.data["from"]?.stringValue == "@alice:x")

            let (answered, _) = try await rest(client, .post, "/api/calls/\(callId)/answer", token: bobToken)
            #expect(answered == .ok)
            #expect(try await alice.next("call-answered").data["from"]?.stringValue == "@bob:x")

            let id = JSONValue.string(callId)
            alice.send("join-call", .object(["callId": id]))
            _ = try await bob.next("user-joined") { $0.data["userId"]?.stringValue == "@alice:x" }
            alice.send("webrtc-offer", .object(["callId": id, "sdp": .string("v=0\r\no=alice\r\n"), "type": .string("offer")]))
            let offer = try await bob.next("webrtc-offer")
            #expect(offer.data["sdp"]?.stringValue == "v=0\r\no=alice\r\n")
            #expect(offer.data["from"]?.stringValue == "@alice:x")
            bob.send("webrtc-answer", .object(["callId": id, "sdp": .string("v=0\r\no=bob\r\n")]))
            #expect(try await alice.next("webrtc-answer").data["sdp"]?.stringValue == "v=0\r\no=bob\r\n")
            alice.send("ice-candidate", .object([
                "callId": id, "candidate": .string("candidate:1 1 udp 2130706431 192.0.2.1 50000 typ host"),
                "sdpMid": .string("0"), "sdpMLineIndex": .number(0),
            ]))
            let candidate = try await bob.next("ice-candidate")
            #expect(candidate.data["sdpMLineIndex"] == .number(0))
            #expect(candidate.data["sdpMid"]?.stringValue == "0")
            // REST relays reach the socket too.
            let (relayed, _) = try await rest(client, .post, "/api/calls/\(callId)/ice-candidate", token: bobToken, body: #"{"candidate":"","sdpMid":"0"}"#)
            #expect(relayed == .ok)
            _ = try await alice.next("ice-candidate")

            // Bad frames get errors and the connection stays open.
            alice.send("this is not json")
            alice.send(#"{"event": "dance", "data": {}}"#)
            alice.send(#"{"data": {}}"#)
            alice.send(#"{"event": "join-call", "data": []}"#)
            alice.sendBinary([1, 2, 3])
            try await waitFor("five errors") { alice.events("error").count >= 5 ? true : nil }
            #expect(alice.events("error").map { $0.data["code"]?.stringValue ?? "" } == ["bad_json", "unknown_event", "bad_json", "bad_json", "bad_frame"])
            alice.send("toggle-audio", .object(["callId": id, "enabled": .bool(false)]))
            #expect(try await bob.next("audio-toggled").data["enabled"] == .bool(false))

            // A stranger is refused and hears nothing of the call.
            carol.send("webrtc-offer", .object(["callId": id, "sdp": .string("v=0")]))
            #expect(try await carol.next("error").data["code"]?.stringValue == "forbidden")
            #expect(carol.events.map(\.event) == ["error"])
            #expect(alice.events("webrtc-offer").isEmpty)
            #expect(bob.events("webrtc-offer").count == 1)

            // Bob's connection drops: after the grace period he leaves, which ends a 1-to-1 call.
            await bob.close()
            let ended = try await alice.next("call-ended")
            #expect(ended.data["reason"]?.stringValue == "disconnected")
            let (_, status) = try await rest(client, .get, "/api/calls/\(callId)/status", token: aliceToken)
            #expect(status["status"]?.stringValue == "ended")
            await alice.close()
            await carol.close()
        }
    }

    @Test func everyConnectionOfAUserHearsTheirCalls() async throws {
        let harness = try await ServerHarness()
        let aliceToken = try harness.token("@alice:x")
        try await harness.runLive { client, port in
            let laptop = try await harness.connect("@bob:x", port: port)
            let phone = try await harness.connect("@bob:x", port: port)
            let (created, _) = try await rest(client, .post, "/api/calls/initiate", token: aliceToken, body: """
                {"roomId": "!room:x", "callType": "voice", "invitees": ["@bob:x"]}
                """)
            #expect(created == .created)
            _ = try await laptop.next("incoming-call")
            _ = try await phone.next("incoming-call")
            await laptop.close()
            await phone.close()
        }
    }
}
