// SocketIORoutes on a live Hummingbird server: the path with and without its slash, Engine.IO
// errors as JSON, a polling exchange, a direct WebSocket session and a refused upgrade.

import Foundation
import Hummingbird
import HummingbirdTesting
import HummingbirdWSTesting
import HummingbirdWebSocket
import Logging
import NIOCore
import SignalingTestSupport
import Synchronization
import Testing

@testable import Signaling
@testable import Auth
@testable import SocketIO

private let secret = "socket-io-test-secret-long-enough-for-hs256"

/// Records what the routes hand to the call service.
private actor Recorder: RealtimeHandler {
    private(set) var log: [String] = []

    func connected(_ client: any RealtimeClient) async { log.append("connected \(client.user)") }

    func received(_ event: RealtimeEvent, from client: any RealtimeClient) async -> RealtimeEvent? {
        log.append("received \(event.event)")
        return nil
    }

    func disconnected(_ client: any RealtimeClient) async { log.append("disconnected \(client.user)") }
}

@Suite struct SocketIORoutesTests {
    private let authority = TokenAuthority(secret: secret)

    private func token(_ identity: String) throws -> String {
        try authority.makeToken(identity: identity, room: "*", publish: false, subscribe: false, admin: false, ttl: 600)
    }

    private func withServer(
        configuration: SocketIOConfiguration = .init(),
        _ body: @escaping @Sendable (any TestClientProtocol, Recorder) async throws -> Void
    ) async throws {
        let recorder = Recorder()
        let router = Router(context: ChorusRequestContext.self)
        SocketIORoutes(handler: recorder, credentials: Credentials(authority: authority), configuration: configuration).register(on: router)
        let app = Application(
            router: router, server: .http1WebSocketUpgrade(webSocketRouter: router),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: Logger(label: "test.socketio"))
        try await app.test(.live) { client in
            try await body(client, recorder)
        }
    }

    private func get(_ client: any TestClientProtocol, _ uri: String) async throws -> (HTTPResponse, String) {
        try await client.execute(uri: uri, method: .get) { ($0.head, String(buffer: $0.body)) }
    }

    private func post(_ client: any TestClientProtocol, _ uri: String, _ body: String) async throws -> (HTTPResponse, String) {
        try await client.execute(uri: uri, method: .post, body: ByteBuffer(string: body)) { ($0.head, String(buffer: $0.body)) }
    }

    @Test func handshakeWithAndWithoutTheTrailingSlash() async throws {
        try await withServer { client, _ in
            for path in ["/socket.io/", "/socket.io"] {
                let (head, body) = try await get(client, "\(path)?EIO=4&transport=polling")
                #expect(head.status == .ok)
                #expect(head.headerFields[.contentType] == "text/plain; charset=UTF-8")
                #expect(body.hasPrefix(#"0{"sid":""#) && body.hasSuffix(#""upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#))
            }
        }
    }

    @Test func refusalsAreEngineIOJSON() async throws {
        try await withServer { client, _ in
            let cases: [(HTTPRequest.Method, String, HTTPResponse.Status, String)] = [
                (.get, "EIO=3&transport=polling", .badRequest, #"{"code":5,"message":"Unsupported protocol version"}"#),
                (.get, "EIO=4&transport=nope", .badRequest, #"{"code":0,"message":"Transport unknown"}"#),
                (.get, "EIO=4&transport=polling&sid=nope", .badRequest, #"{"code":1,"message":"Session ID unknown"}"#),
                (.post, "EIO=4&transport=polling", .badRequest, #"{"code":2,"message":"Bad handshake method"}"#),
                (.put, "EIO=4&transport=polling", .badRequest, #"{"code":2,"message":"Bad handshake method"}"#),
                (.get, "EIO=4&transport=websocket", .badRequest, #"{"code":3,"message":"Bad request"}"#),
            ]
            for (method, query, status, expected) in cases {
                try await client.execute(uri: "/socket.io/?\(query)", method: method, body: ByteBuffer(string: "40")) { response in
                    #expect(response.status == status, "\(method) \(query)")
                    #expect(response.headers[.contentType] == "application/json")
                    #expect(String(buffer: response.body) == expected, "\(method) \(query)")
                }
            }
        }
    }

    @Test func aPollingExchange() async throws {
        let token = try token("@alice:x")
        try await withServer { client, recorder in
            let (_, handshake) = try await get(client, "/socket.io/?EIO=4&transport=polling")
            let sid = try #require(SocketIOJSON.decode(Array(handshake.utf8.dropFirst())[...])?["sid"]?.stringValue)
            let uri = "/socket.io/?EIO=4&transport=polling&sid=\(sid)"
            let (head, ok) = try await post(client, uri, #"40{"token":"\#(token)"}"#)
            #expect(head.status == .ok && ok == "ok")
            #expect(try await get(client, uri).1.hasPrefix(#"40{"sid":""#))
            #expect(try await post(client, uri, "42[\"join-call\",{}]\u{1e}41").1 == "ok")
            #expect(await recorder.log == ["connected @alice:x", "received join-call", "disconnected @alice:x"])
            #expect(try await get(client, uri).0.status == .badRequest)
            // A body over maxPayload is 413 and ends the session.
            let (_, again) = try await get(client, "/socket.io/?EIO=4&transport=polling")
            let other = try #require(SocketIOJSON.decode(Array(again.utf8.dropFirst())[...])?["sid"]?.stringValue)
            let big = "4" + String(repeating: "x", count: 1_000_000)
            #expect(try await post(client, "/socket.io/?EIO=4&transport=polling&sid=\(other)", big).0.status == .contentTooLarge)
            #expect(try await get(client, "/socket.io/?EIO=4&transport=polling&sid=\(other)").0.status == .badRequest)
        }
    }

    @Test func aDirectWebSocketWithTheQueryToken() async throws {
        let token = try token("@bob:x")
        try await withServer { client, recorder in
            let received = Gathered<[String]>([])
            try await client.ws("/socket.io/?EIO=4&transport=websocket&token=\(token)") { inbound, outbound, _ in
                var messages = inbound.messages(maxSize: 1 << 20).makeAsyncIterator()
                guard case .text(let open)? = try await messages.next() else { return }
                received.append(open)
                try await outbound.write(.text("40"))
                guard case .text(let connected)? = try await messages.next() else { return }
                received.append(connected)
                try await outbound.write(.text("41"))
                while try await messages.next() != nil {}
            }
            let frames = received.value
            #expect(frames.count == 2)
            #expect(frames.first?.contains(#""upgrades":[]"#) == true)
            #expect(frames.last?.hasPrefix(#"40{"sid":""#) == true)
            #expect(await recorder.log == ["connected @bob:x", "disconnected @bob:x"])
        }
    }

    @Test func handshakesOverThePendingLimitGet429WithRetryAfter() async throws {
        try await withServer(configuration: SocketIOConfiguration(maxPendingSessionsPerAddress: 2)) { client, _ in
            for _ in 0..<2 {
                #expect(try await get(client, "/socket.io/?EIO=4&transport=polling").0.status == .ok)
            }
            try await client.execute(uri: "/socket.io/?EIO=4&transport=polling", method: .get) { response in
                #expect(response.status == .tooManyRequests)
                // When the oldest pending handshake expires (the 45 s connect timeout), counted
                // from its start: a second or two less on a machine slow enough to need them.
                #expect(response.headers[.retryAfter].flatMap { Int($0) }.map { (40...45).contains($0) } == true)
                #expect(response.headers[.contentType] == "application/json")
                let body = try #require(JSONValue.parse(Array(response.body.readableBytesView)))
                #expect(body["error"]?["code"] == .string("too_many_requests"))
                #expect(body["error"]?["message"]?.stringValue?.contains("from this address") == true)
            }
            // A WebSocket is closed at once with 1013 (Try Again Later) and when to come back.
            let closed = try await client.ws("/socket.io/?EIO=4&transport=websocket") { inbound, _, _ in
                for try await _ in inbound {}
            }
            #expect(closed?.closeCode == .unknown(1013))
            let reason = try #require(closed?.reason)
            let seconds = reason.hasPrefix("too many pending handshakes; retry after ") && reason.hasSuffix(" s")
                ? Int(reason.dropFirst("too many pending handshakes; retry after ".count).dropLast(2)) : nil
            #expect(seconds.map { (40...45).contains($0) } == true, "\(reason)")
        }
    }

    @Test func anUpgradeForAnUnknownSessionIsRefused() async throws {
        try await withServer { client, _ in
            await #expect(throws: (any Error).self) {
                try await client.ws("/socket.io/?EIO=4&transport=websocket&sid=unknown") { _, _, _ in }
            }
        }
    }
}

/// A mutex-guarded box, for results gathered in a WebSocket handler.
private final class Gathered<Value: Sendable>: Sendable {
    private let stored: Mutex<Value>
    init(_ value: Value) { stored = Mutex(value) }
    var value: Value { stored.withLock { $0 } }
    func append<Element: Sendable>(_ element: Element) where Value == [Element] { stored.withLock { $0.append(element) } }
}
