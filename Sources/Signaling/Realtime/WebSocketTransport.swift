// The native realtime transport: a WebSocket at /ws carrying JSON text frames
// `{"event": "...", "data": {...}}` both ways. A token that is missing or bad refuses the
// upgrade with 401; a bad frame gets an `error` event and the connection stays open.

import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOWebSocket
import Synchronization

import Auth
import SocketIO

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

public struct WebSocketTransport: RealtimeTransport {
    /// Largest message accepted from a client (SDP offers are a few kilobytes).
    public static let maximumMessageBytes = 64 * 1024

    public init() {}

    public func register(on router: Router<ChorusRequestContext>, handler: any RealtimeHandler, credentials: Credentials) {
        router.ws("ws") { request, context in
            let identity = try await credentials.realtimeIdentity(of: request)
            if let problem = handler.admissionProblem(user: identity.user, address: context.clientAddress) {
                throw APIError(problem)
            }
            return .upgrade([:])
        } onUpgrade: { inbound, outbound, context in
            // Checked again: the upgrade handler does not see what shouldUpgrade decided.
            guard let identity = try? await credentials.realtimeIdentity(of: context.request) else {
                try await outbound.close(.policyViolation, reason: "invalid token")
                return
            }
            let user = identity.user
            let channel = context.requestContext.channel
            // A client that stops reading leaves the writer stuck in a write no close frame can
            // get past: over the bound, the TCP connection itself goes.
            let client = WebSocketRealtimeClient(
                user: user, isAdmin: identity.isAdmin, address: context.requestContext.clientAddress,
                onOverflow: { channel.close(promise: nil) })
            do throws(LimitExceeded) {
                try await handler.connected(client)
            } catch {
                // Another connection took the last place since the upgrade was allowed.
                try await outbound.close(.policyViolation, reason: error.message)
                return
            }
            // One writer per connection keeps events in order and never lets a slow reader
            // hold up the sender of an event.
            let writer = Task {
                for await frame in client.outbox {
                    client.taken(frame)
                    try await outbound.write(.text(frame))
                }
                if client.overflowed {
                    try await outbound.close(.policyViolation, reason: "too many undelivered events")
                }
            }
            var failure: (any Error)?
            do {
                for try await message in inbound.messages(maxSize: Self.maximumMessageBytes) {
                    let reply: RealtimeEvent?
                    switch Self.decode(message) {
                    case .event(let event): reply = await handler.received(event, from: client)
                    case .refused(let error): reply = error
                    }
                    if let reply { await client.deliver(reply) }
                }
            } catch {
                context.logger.debug("websocket of \(user) closed: \(error)")
                failure = error
            }
            client.close()
            _ = await writer.result
            await handler.disconnected(client)
            // The library closes with the code its error names (1002 for a continuation frame
            // with nothing to continue, 1007 for text that is not UTF-8, 1009 for too large):
            // swallowing it here would close with 1000 as if all was well.
            if let failure { throw failure }
        }
    }

    static func encode(_ event: RealtimeEvent) -> String {
        JSONValue.object(["event": .string(event.event), "data": event.data]).jsonText
    }

    enum Frame: Equatable {
        case event(RealtimeEvent)
        /// Not an event: the `error` event that answers it.
        case refused(RealtimeEvent)
    }

    static func decode(_ message: WebSocketMessage) -> Frame {
        guard case .text(let text) = message else {
            return .refused(errorEvent("bad_frame", "send JSON text frames; binary frames are not supported"))
        }
        guard let json = JSONValue.parse(Array(text.utf8)), case .object(let frame) = json else {
            return .refused(errorEvent("bad_json", "a frame must be a JSON object {\"event\": \"...\", \"data\": {...}}"))
        }
        guard case .string(let name)? = frame["event"], !name.isEmpty else {
            return .refused(errorEvent("bad_json", "a frame needs an \"event\" string"))
        }
        let data = frame["data"] ?? .object([:])
        guard case .object = data else {
            return .refused(errorEvent("bad_json", "\"data\" must be a JSON object", event: name))
        }
        return .event(RealtimeEvent(name, data))
    }

    static func errorEvent(_ code: String, _ message: String, event: String? = nil) -> RealtimeEvent {
        var data: [String: JSONValue] = ["code": .string(code), "message": .string(message)]
        if let event { data["event"] = .string(String(event.prefix(64))) }
        return RealtimeEvent("error", .object(data))
    }
}

/// One /ws connection as the call service sees it. Encoded events wait in a queue bounded by
/// count and by bytes (as Socket.IO's: 1,024 events, 4 MiB); a client that lets it fill up is
/// disconnected (`onOverflow`) rather than buffered without end.
final class WebSocketRealtimeClient: RealtimeClient {
    static let queueLimit = 1024
    static let queuedBytesLimit = 4 << 20

    let connectionID = UUID().uuidString.lowercased()
    let user: String
    let isAdmin: Bool
    let address: String?
    /// Frames to write, already encoded (their size is what the byte bound counts).
    let outbox: AsyncStream<String>
    private let continuation: AsyncStream<String>.Continuation
    private let queue = Mutex<(bytes: Int, overflowed: Bool)>((0, false))
    private let onOverflow: @Sendable () -> Void

    init(user: String, isAdmin: Bool, address: String? = nil, onOverflow: @escaping @Sendable () -> Void = {}) {
        self.user = user
        self.isAdmin = isAdmin
        self.address = address
        self.onOverflow = onOverflow
        (outbox, continuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingOldest(Self.queueLimit))
    }

    var overflowed: Bool { queue.withLock { $0.overflowed } }

    func deliver(_ event: RealtimeEvent) async {
        let frame = WebSocketTransport.encode(event)
        let size = frame.utf8.count
        // One event larger than the bound still goes to a client with nothing waiting.
        let fits = queue.withLock { queue -> Bool in
            guard !queue.overflowed, queue.bytes == 0 || queue.bytes + size <= Self.queuedBytesLimit else { return false }
            queue.bytes += size
            return true
        }
        if fits, case .enqueued = continuation.yield(frame) { return }
        overflow()
    }

    /// The writer took a frame off the queue.
    func taken(_ frame: String) {
        queue.withLock { $0.bytes -= frame.utf8.count }
    }

    private func overflow() {
        let first = queue.withLock { queue -> Bool in
            defer { queue.overflowed = true }
            return !queue.overflowed
        }
        continuation.finish()
        if first { onOverflow() }
    }

    func close() {
        continuation.finish()
    }
}
