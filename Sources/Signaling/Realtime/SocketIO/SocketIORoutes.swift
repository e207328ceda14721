// The Socket.IO v4-compatible endpoint at /socket.io/ on Hummingbird: Engine.IO v4 long polling
// (GET holds, POST sends) and WebSocket (direct, or as the upgrade of a polling session) on one
// path, so that python-socketio and socket.io-client v4 connect unchanged.

import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import ServiceLifecycle

import Auth
import SocketIO

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

public struct SocketIORoutes: Sendable {
    public let server: SocketIOServer
    private let logger: Logger

    /// Clients authenticate with their Chorus access token (identity = `sub`) or a Matrix access
    /// token: in the CONNECT packet's `auth: {"token": ...}`, or else as `Authorization: Bearer`
    /// / `?token=` on the Engine.IO handshake request.
    public init(
        handler: any RealtimeHandler, credentials: Credentials, configuration: SocketIOConfiguration = .init(),
        logger: Logger = Logger(label: "chorus.socketio")
    ) {
        self.logger = logger
        self.server = SocketIOServer(handler: handler, configuration: configuration) { token in
            switch await credentials.verify(token) {
            case .success(let bearer): .success(RealtimeIdentity(user: bearer.identity, isAdmin: bearer.claims.isAdmin))
            case .failure(let rejection): .failure(SocketIOAuthFailure(rejection.message))
            }
        } onClosed: { sid, reason in
            // A client dropped for not reading is worth an operator's notice; the rest is routine.
            logger.log(level: reason == .sendQueueFull ? .notice : .debug, "socket.io session \(sid) closed: \(reason)")
        }
    }

    public func register(on router: Router<ChorusRequestContext>) {
        let server = self.server
        let upgrade = WebSocketUpgradeMiddleware<ChorusRequestContext> { inbound, outbound, context in
            let request = context.request
            let channel = context.requestContext.channel
            let frames = inbound.messages(maxSize: server.configuration.maxPayload).map { message -> EngineIOFrame in
                switch message {
                case .text(let text): .text(text)
                case .binary(let buffer): .binary(Array(buffer: buffer))
                }
            }
            // On graceful shutdown every session closes with a close packet, so clients know the
            // server went away rather than their network.
            await withGracefulShutdownHandler {
                await server.serveWebSocket(
                    sid: Self.query(of: request)["sid"], fallbackToken: Self.fallbackToken(of: request),
                    address: ClientAddress.key(channel.remoteAddress), inbound: frames,
                    sink: OutboundSink(outbound: outbound, channel: channel))
            } onGracefulShutdown: {
                server.closeAll(reason: .server("server shutting down"))
            }
        }
        // Hummingbird's router matches "/socket.io" and "/socket.io/" alike.
        router.get("socket.io") { request, context in
            await Self.get(request, context: context, server: server, upgrade: upgrade)
        }
        router.post("socket.io") { request, context in
            await Self.post(request, server: server, logger: context.logger)
        }
        // The reference server answers other methods with code 2 (handshake) or 3, not 404.
        for method: HTTPRequest.Method in [.put, .delete, .patch] {
            router.on("socket.io", method: method) { request, _ in
                Self.refusal(Self.parse(request, method: .other).failure ?? .badRequest)
            }
        }
    }

    // MARK: Handlers

    private static func get(
        _ request: Request, context: ChorusRequestContext, server: SocketIOServer,
        upgrade: WebSocketUpgradeMiddleware<ChorusRequestContext>
    ) async -> Response {
        let parsed: EngineIORequest
        switch parse(request, method: .get) {
        case .failure(let error): return refusal(error)
        case .success(let value): parsed = value
        }
        let address = ClientAddress.key(context.remoteAddress)
        switch (parsed.transport, parsed.sid) {
        case (.websocket, let sid):
            // Asked by the WebSocket upgrader whether to accept: 200 with the handler set
            // accepts. Anything else refuses, and Hummingbird then answers a bare 400 of its own
            // whatever this returns; so a new session over the pending limits is accepted and
            // then closed with a reason (`SocketIOWebSocketSink.refuse`).
            if let sid {
                do { try server.checkWebSocket(sid: sid) } catch { return refusal(error) }
            }
            return (try? await upgrade.handle(request, context: context) { _, _ in Response(status: .ok) })
                ?? refusal(.badRequest)
        case (.polling, nil):
            do {
                return payload(try server.openPollingSession(fallbackToken: fallbackToken(of: request), from: address))
            } catch {
                return tooManyPending(error, logger: context.logger)
            }
        case (.polling, let sid?):
            do {
                // A held poll must not hold up a graceful shutdown: the sessions are closed, which
                // answers the poll with a close packet.
                let body = try await withGracefulShutdownHandler {
                    try await server.poll(sid: sid)
                } onGracefulShutdown: {
                    server.closeAll(reason: .server("server shutting down"))
                }
                return payload(body)
            } catch let error as EngineIOError {
                return refusal(error)
            } catch {
                return refusal(.badRequest)
            }
        }
    }

    private static func post(_ request: Request, server: SocketIOServer, logger: Logger) async -> Response {
        let sid: String
        switch parse(request, method: .post) {
        case .failure(let error): return refusal(error)
        case .success(let value):
            guard let value = value.sid else { return refusal(.badHandshakeMethod) }
            sid = value
        }
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: server.configuration.maxPayload)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            // The reference server closes a session that sends more than maxPayload.
            server.close(sid: sid, reason: .payloadTooLarge)
            return refusal(.payloadTooLarge)
        } catch {
            logger.debug("socket.io POST body of \(sid) failed: \(error)")
            return refusal(.badRequest)
        }
        do {
            try await server.post(sid: sid, body: Array(buffer: body))
        } catch {
            return refusal(error)
        }
        return Response(
            status: .ok, headers: [.contentType: "text/html"], body: ResponseBody(byteBuffer: ByteBuffer(string: "ok")))
    }

    // MARK: Helpers

    private static func parse(_ request: Request, method: EngineIORequest.Method) -> Result<EngineIORequest, EngineIOError> {
        do throws(EngineIOError) {
            return .success(try EngineIORequest(method: method, query: query(of: request), isWebSocketUpgrade: isWebSocketUpgrade(request)))
        } catch {
            return .failure(error)
        }
    }

    /// The query as a dictionary; a repeated key keeps its first value.
    static func query(of request: Request) -> [String: String] {
        var query: [String: String] = [:]
        for (key, value) in request.uri.queryParameters where query[String(key)] == nil {
            query[String(key)] = String(value)
        }
        return query
    }

    /// What NIO's WebSocket upgrader requires before it asks the router (RFC 6455 §4.1).
    static func isWebSocketUpgrade(_ request: Request) -> Bool {
        guard let upgrade = request.headers[.upgrade], upgrade.lowercased() == "websocket",
            let connection = request.headers[.connection], connection.lowercased().contains("upgrade"),
            request.headers[.secWebSocketKey] != nil
        else { return false }
        return true
    }

    /// `Authorization: Bearer <token>`, else `?token=`.
    static func fallbackToken(of request: Request) -> String? {
        if let header = request.headers[.authorization] {
            let parts = header.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" { return String(parts[1]) }
        }
        if let token = request.uri.queryParameters["token"], !token.isEmpty { return String(token) }
        return nil
    }

    private static func payload(_ body: String) -> Response {
        Response(
            status: .ok, headers: [.contentType: "text/plain; charset=UTF-8", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    private static func refusal(_ error: EngineIOError) -> Response {
        Response(
            status: HTTPResponse.Status(code: error.status), headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: error.body)))
    }

    /// A handshake over the pending-session limits: `429` with the API's JSON error (not an
    /// Engine.IO refusal, whose codes have no "come back later") and when to come back.
    private static func tooManyPending(_ refusal: SocketIOPendingSessions.Refusal, logger: Logger) -> Response {
        logger.debug("socket.io handshake refused: \(refusal)")
        var response = APIError(.tooManyRequests, "too_many_requests", refusal.description).response
        response.headers[.retryAfter] = String(refusal.retryAfterSeconds)
        return response
    }
}

/// Socket.IO as one of Chorus's realtime transports (ChorusServer.makeRouter's list).
public struct SocketIOTransport: RealtimeTransport {
    public var configuration: SocketIOConfiguration

    public init(configuration: SocketIOConfiguration = .init()) {
        self.configuration = configuration
    }

    public func register(on router: Router<ChorusRequestContext>, handler: any RealtimeHandler, credentials: Credentials) {
        SocketIORoutes(handler: handler, credentials: credentials, configuration: configuration).register(on: router)
    }
}

/// Hummingbird's WebSocket writer as the Socket.IO server's sink.
private struct OutboundSink: SocketIOWebSocketSink {
    let outbound: WebSocketOutboundWriter
    let channel: any Channel

    func write(_ frame: EngineIOFrame) async throws {
        switch frame {
        case .text(let text): try await outbound.write(.text(text))
        case .binary(let bytes): try await outbound.write(.binary(ByteBuffer(bytes: bytes)))
        }
    }

    func close() async {
        try? await outbound.close(.normalClosure, reason: nil)
    }

    /// Close code 1013, "Try Again Later" (IANA WebSocket close code registry, RFC 6455 §11.7),
    /// with the wait in the reason (at most 123 bytes, §5.5).
    func refuse(_ refusal: SocketIOPendingSessions.Refusal) async {
        try? await outbound.close(.init(codeNumber: 1013), reason: "too many pending handshakes; retry after \(refusal.retryAfterSeconds) s")
    }

    /// Closes the TCP connection under Hummingbird's writer: a write waiting for the client to
    /// read fails, and so does the close frame Hummingbird writes after the handler returns,
    /// which would otherwise wait for that client for ever too.
    func abort() {
        channel.close(mode: .all, promise: nil)
    }
}

extension Result {
    fileprivate var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
