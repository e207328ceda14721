// The call service as the realtime transports see it: client events in, `error` events back
// for bad input, and the grace period after a user's last connection drops (what it ends:
// CallService+Attendance).

import ServiceLifecycle
import SocketIO

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension CallService: RealtimeHandler {
    public func admissionProblem(user: String, address: String?) -> LimitExceeded? {
        hub.admissionProblem(user: user, address: address)
    }

    public func connected(_ client: any RealtimeClient) async throws(LimitExceeded) {
        try hub.add(client)
    }

    public func disconnected(_ client: any RealtimeClient) async {
        guard hub.remove(client) == 0 else { return }
        scheduleConnectionLost(client.user, after: configuration.gracePeriod)
    }

    public func received(_ event: RealtimeEvent, from client: any RealtimeClient) async -> RealtimeEvent? {
        do {
            try await handle(event, from: client)
            return nil
        } catch {
            var data: [String: JSONValue] = [
                "code": .string(error.code), "message": .string(error.message), "event": .string(String(event.event.prefix(64))),
            ]
            if let callId = event.data["callId"] { data["callId"] = callId }
            if let retryAfter = error.retryAfter { data["retryAfter"] = .number(Double(retryAfter)) }
            return RealtimeEvent("error", .object(data))
        }
    }

    private func handle(_ event: RealtimeEvent, from client: any RealtimeClient) async throws(CallError) {
        let user = client.user
        let connection = client.connectionID
        let fields = try CallFields(event.data)
        switch event.event {
        case "join-call":
            _ = try await join(try fields.identifier("callId"), by: user, excluding: connection)
        case "leave-call":
            _ = try await leave(try fields.identifier("callId"), by: user, excluding: connection)
        case "webrtc-offer", "webrtc-answer", "ice-candidate":
            let kind = RelayKind.allCases.first { $0.eventName == event.event }!
            let callId = try fields.identifier("callId")
            try await relay(RelayMessage(kind: kind, json: event.data), callId: callId, from: user, excluding: connection)
        case "sfu-offer", "sfu-answer", "sfu-candidate", "sfu-layers", "mute-participant":
            try await handleGroupEvent(event, fields: fields, from: client)
        case "toggle-audio", "toggle-video":
            let media: MediaToggle = event.event == "toggle-audio" ? .audio : .video
            let callId = try fields.identifier("callId")
            _ = try await toggle(media, callId: callId, by: user, enabled: try fields.bool("enabled"), excluding: connection)
        default:
            throw CallError(.invalid, "unknown_event", "unknown event '\(event.event.prefix(64))'")
        }
    }

    /// Users waiting out a grace period (tests).
    public var pendingGracePeriods: Int { hub.pendingGraceCount }
}

/// Under swift-service-lifecycle: once the store is open, settles stale ringing calls at start,
/// sweeps every `sweepInterval` until graceful shutdown (ending, a grace period after the
/// start, the calls left active that nobody came back to), then stops the grace timers.
extension CallService: Service {
    public func run() async throws {
        let mediaEvents = Task { await followMediaEvents() }
        defer {
            mediaEvents.cancel()
            hub.cancelGraceTimers()
        }
        // Every call this process answers is answered after this (it needs the store).
        let startedAt = now()
        // The HTTP listener opens before the database does (ChorusServer): until the store is
        // open there is nothing to sweep, and clients cannot come back to their calls, so the
        // grace period after a start counts from the moment it is open.
        do {
            try await cancelWhenGracefulShutdown { [store] in try await store.untilOpen() }
        } catch {
            return
        }
        let graceEnds = now() + configuration.gracePeriod.timeInterval
        await expireRingingCalls()
        let interval = configuration.sweepInterval
        await cancelWhenGracefulShutdown { [self] in
            var leftByRestartSettled = false
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard !Task.isCancelled else { break }
                await expireRingingCalls()
                guard !leftByRestartSettled, now() >= graceEnds else { continue }
                do {
                    _ = try await endCallsLeftByRestart(startedAt: startedAt)
                    leftByRestartSettled = true
                } catch {
                    logger.error("could not end the calls left active by the previous run (retrying): \(error)")
                }
            }
        }
    }
}
