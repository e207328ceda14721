// Group calls through the SFU as the realtime channel carries them: `sfu-offer`, `sfu-answer`
// and `sfu-candidate` negotiate a participant's one connection to Chorus, `sfu-layers` picks
// the simulcast layer received of someone's video, `mute-participant` lets a moderator mute
// someone at the router. The rules of the call (who is in it) come
// first; GroupCallMedia then keeps the SFU in step.

import SFU
import SocketIO

extension MediaToggle {
    var trackKind: TrackKind { self == .audio ? .audio : .video }
}

extension CallService {
    /// The group call `callId` if `user` has joined it and it is still going.
    private func joinedGroupCall(_ callId: String, user: String) async throws(CallError) -> (CallRecord, GroupCallMedia) {
        let (call, me) = try await load(callId, for: user)
        guard call.isGroupCall else {
            throw CallError(.invalid, "not_group_call", "a 1-to-1 call has no SFU media: use webrtc-offer/webrtc-answer between the peers")
        }
        guard call.status == .ringing || call.status == .active else { throw .conflict("send media to", status: call.status) }
        guard me.status == .joined else { throw .conflict("join the call (join-call) before sending media") }
        guard let group else { throw CallError(.unavailable, "media_unavailable", "this server runs without an SFU") }
        return (call, group)
    }

    func handleGroupEvent(_ event: RealtimeEvent, fields: CallFields, from client: any RealtimeClient) async throws(CallError) {
        let callId = try fields.identifier("callId")
        switch event.event {
        case "sfu-offer":
            let sdp = try fields.sdp()
            let screenShare = try fields.screenShareMids()
            let (_, group) = try await joinedGroupCall(callId, user: client.user)
            try await group.offer(callId: callId, user: client.user, client: client, sdp: sdp, screenShare: screenShare)
        case "sfu-answer":
            let sdp = try fields.sdp()
            let (_, group) = try await joinedGroupCall(callId, user: client.user)
            try await group.answer(callId: callId, user: client.user, client: client, sdp: sdp)
        case "sfu-candidate":
            // Chorus is ICE-lite (RFC 8445 §2.5): it learns the peer's addresses from its
            // connectivity checks, so trickled candidates carry nothing it needs.
            _ = try await joinedGroupCall(callId, user: client.user)
        case "sfu-layers":
            let publisher = try fields.identifier("userId")
            let spatial = try fields.spatialLayer()
            let temporal = try fields.temporalLayer()
            let (call, group) = try await joinedGroupCall(callId, user: client.user)
            guard publisher != client.user, call.participant(publisher) != nil else {
                throw .invalid("userId", "another participant of the call")
            }
            try await group.setLayers(callId: callId, user: client.user, publisher: publisher, spatial: spatial, temporal: temporal)
        case "mute-participant":
            let target = try fields.identifier("userId")
            let kind: MediaToggle
            switch try fields.string("kind") {
            case "audio": kind = .audio
            case "video": kind = .video
            default: throw .invalid("kind", "\"audio\" or \"video\"")
            }
            _ = try await muteParticipant(
                callId, target: target, kind: kind, muted: try fields.bool("muted"), by: client.user, hasAdminGrant: client.isAdmin)
        default:
            throw CallError(.invalid, "unknown_event", "unknown event '\(event.event.prefix(64))'")
        }
    }

    /// A moderator of the call (its initiator, or a participant whose token has the admin
    /// grant) mutes, or lets speak again, another participant of a group call, at the SFU.
    /// Everyone still in the call hears of it, the target included, with `byAdmin: true`.
    public func muteParticipant(
        _ callId: String, target: String, kind: MediaToggle, muted: Bool, by admin: String, hasAdminGrant: Bool
    ) async throws(CallError) -> CallRecord {
        let (call, me) = try await load(callId, for: admin)
        guard call.isGroupCall else { throw CallError(.invalid, "not_group_call", "only group calls have moderators") }
        guard me.status == .joined || me.status == .invited, call.isModerator(admin, hasAdminGrant: hasAdminGrant) else {
            throw CallError(.forbidden, "forbidden", "only the call's initiator or a participant with the admin grant can mute others")
        }
        guard call.status == .ringing || call.status == .active else { throw .conflict("mute in", status: call.status) }
        guard let participant = call.participant(target), participant.status == .joined || participant.status == .invited else {
            throw .invalid("userId", "a participant who is still in the call")
        }
        if let group {
            try await group.setMute(callId: callId, user: target, kind: kind.trackKind, muted: muted, byAdmin: true)
        }
        let now = now()
        let change = kind == .audio
            ? ParticipantChange(user: target, audioEnabled: !muted) : ParticipantChange(user: target, videoEnabled: !muted)
        let payload = JSONValue.object(["enabled": .bool(!muted), "byAdmin": .bool(true), "userId": .string(target)])
        let record = try await stored("mute") {
            try await store.updateParticipants(
                callId, changes: [change],
                event: NewCallEvent(type: "\(kind.rawValue)-toggled", actor: admin, payload: payload.jsonText, at: now))
        }
        let data: JSONValue = .object([
            "callId": .string(callId), "userId": .string(target), "from": .string(admin),
            "enabled": .bool(!muted), "byAdmin": .bool(true),
        ])
        await emit(RealtimeEvent("\(kind.rawValue)-toggled", data), to: Set(Self.present(record) + [admin]))
        return record
    }

    /// Follows the SFU's own decisions (a transport that lost consent) until the stream ends.
    func followMediaEvents() async {
        guard let media, let group else { return }
        for await event in media.events {
            switch event {
            case .participantClosed(let room, let participantID, let reason):
                guard let (callId, user) = await group.transportClosed(room: room, participantID: participantID, reason: reason) else {
                    continue
                }
                logger.info("group call \(callId): media of \(user) closed by the SFU: \(reason)")
                let payload = JSONValue.object(["reason": .string(reason)])
                _ = try? await store.append(NewCallEvent(type: "media-closed", actor: user, payload: payload.jsonText, at: now()), to: callId)
            case .activeSpeaker(let room, let participantID):
                await group.speakerChanged(room: room, participantID: participantID)
            case .audioLevels(let room, let levels):
                await group.audioLevels(room: room, levels: levels)
            case .videoPaused(let room, let subscriberID, let publisherID, let trackID, let source, let paused):
                await group.videoPaused(
                    room: room, subscriberID: subscriberID, publisherID: publisherID, trackID: trackID, source: source, paused: paused)
            }
        }
    }
}
