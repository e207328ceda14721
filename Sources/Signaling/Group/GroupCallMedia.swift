// The media of group calls: one SFU room per call (named by the call id), one transport per
// participant that publishes and receives, and the SDP sessions that describe them. Keeps
// every participant's session in line with who publishes what: when a track comes or goes,
// each other participant gets an `sfu-offer`.

import ICE
import Logging
import SFU
import SDP
import SocketIO

actor GroupCallMedia {
    private let media: MediaServer
    private let logger: Logger

    private struct Member {
        let participantID: String
        var session: GroupSession
        var client: any RealtimeClient
        /// Mids of its published tracks that share a screen, as their offer said (`screenShare`,
        /// or `a=content:slides`): the others learn it in `streams`.
        var screens: Set<String> = []
    }

    /// callId → user → their media session.
    private var members: [String: [String: Member]] = [:]
    /// callId → the participant id the SFU last named the speaker (for members who join later).
    private var speakers: [String: String?] = [:]
    /// callId → user → mute state per kind. Outlives a member's transport, so an admin's mute
    /// survives a reload and applies to a participant who has not sent media yet.
    private var mutes: [String: [String: [TrackKind: MuteState]]] = [:]

    init(media: MediaServer, logger: Logger) {
        self.media = media
        self.logger = logger
    }

    // MARK: - Serialising

    /// Operations await the SFU's worker; an actor would interleave them at those awaits, so
    /// those of one call run one at a time (they take a millisecond or so, nothing waits on the
    /// network). Different calls touch different entries (`members[callId]`, `mutes[callId]`)
    /// and go on side by side: one call's renegotiation does not wait on another's.
    private var busy: Set<String> = []
    private var waiting: [String: [CheckedContinuation<Void, Never>]] = [:]

    private func serialized<T>(_ callId: String, _ body: () async throws(CallError) -> T) async throws(CallError) -> T {
        while busy.contains(callId) { await withCheckedContinuation { waiting[callId, default: []].append($0) } }
        busy.insert(callId)
        defer {
            busy.remove(callId)
            if let next = waiting[callId]?.first {
                waiting[callId]?.removeFirst()
                if waiting[callId]?.isEmpty == true { waiting[callId] = nil }
                next.resume()
            }
        }
        return try await body()
    }

    // MARK: - Signaling from the participant

    /// `sfu-offer`: the participant's (re)offer. The first one makes its transport; one from a
    /// new connection (a reloaded page) replaces the old transport. `screenShare`: mids of its
    /// m-lines that share a screen (a track is a screen share or not from when it is published).
    func offer(
        callId: String, user: String, client: any RealtimeClient, sdp: String, screenShare: Set<String> = []
    ) async throws(CallError) {
        try await serialized(callId) { () async throws(CallError) in
            if let existing = members[callId]?[user], existing.client.connectionID != client.connectionID {
                members[callId]?[user] = nil
                await closeTransport(callId: callId, participantID: existing.participantID)
                logger.info("group call \(callId): \(user) reconnected, old transport replaced")
            }
            var member: Member
            if let existing = members[callId]?[user] {
                member = existing
            } else {
                member = try await newMember(callId: callId, user: user, client: client, sdp: sdp)
            }
            let outcome: GroupSession.OfferOutcome
            do {
                outcome = try member.session.receiveOffer(sdp)
            } catch {
                if members[callId]?[user] == nil { await closeTransport(callId: callId, participantID: member.participantID) }
                throw Self.callError(error)
            }
            guard case .answered(let answer, var changes) = outcome else {
                logger.debug("group call \(callId): offer of \(user) collided with ours; ignored (Chorus is impolite)")
                return
            }
            member.screens.subtract(changes.unpublished)
            for index in changes.published.indices where screenShare.contains(changes.published[index].mid) {
                // The protocol's field says what a browser cannot put into its SDP.
                changes.published[index].content.append("slides")
            }
            for media in changes.published where media.isSlides { member.screens.insert(media.mid) }
            let isNew = members[callId]?[user] == nil
            members[callId, default: [:]][user] = member
            do {
                try await apply(changes, callId: callId, participantID: member.participantID)
                if isNew { try await restoreMutes(callId: callId, user: user, participantID: member.participantID) }
            } catch {
                throw Self.callError(error)
            }
            await client.deliver(RealtimeEvent("sfu-answer", .object([
                "callId": .string(callId), "sdp": .string(answer), "streams": streams(callId: callId, for: user),
            ])))
            // Whoever speaks already was named before this member came: tell it now.
            if isNew, let speaker = speakers[callId], let event = speakerEvent(room: callId, participantID: speaker) {
                await client.deliver(event)
            }
            await renegotiate(callId: callId)
        }
    }

    /// `sfu-answer`: the participant accepted Chorus's offer; forwarding on the new m-lines starts.
    func answer(callId: String, user: String, client: any RealtimeClient, sdp: String) async throws(CallError) {
        try await serialized(callId) { () async throws(CallError) in
            guard var member = members[callId]?[user], member.client.connectionID == client.connectionID else {
                throw CallError(.conflict, "no_media_session", "no media session on this connection: send sfu-offer first")
            }
            let result: (started: [GroupSession.Started], rejected: [String])
            do {
                result = try member.session.receiveAnswer(sdp)
            } catch {
                throw Self.callError(error)
            }
            members[callId]?[user] = member
            let requests = result.started.map { started in
                ConsumerRequest(
                    track: OutgoingTrack(
                        mid: started.mid, kind: TrackKind(started.kind), ssrc: started.track.stream.ssrc,
                        cname: started.track.stream.cname, streamID: started.track.stream.streamID,
                        trackID: started.track.stream.trackID,
                        rtxSSRC: started.rtxPayloadType == nil ? nil : started.track.stream.rtxSSRC),
                    producerID: started.track.producerID, payloadType: started.payloadType,
                    midExtensionID: started.midExtensionID, rtxPayloadType: started.rtxPayloadType,
                    transportSequenceExtensionID: started.transportSequenceExtensionID)
            }
            do {
                if !requests.isEmpty { _ = try await media.consume(room: callId, participantID: member.participantID, requests: requests) }
                if !result.rejected.isEmpty {
                    try await media.stopConsuming(room: callId, participantID: member.participantID, mids: result.rejected)
                }
            } catch {
                throw Self.callError(error)
            }
            // Changes that waited for this answer (someone joined while the offer was out).
            await renegotiate(callId: callId)
        }
    }

    // MARK: - Call lifecycle

    /// The participant left (or was dropped): its transport and everything on it go, the
    /// others get an offer without its tracks.
    func leave(callId: String, user: String) async {
        try? await serialized(callId) { () async throws(CallError) in
            guard let member = members[callId]?[user] else { return }
            members[callId]?[user] = nil
            if members[callId]?.isEmpty == true {
                members[callId] = nil
                speakers[callId] = nil
            }
            await closeTransport(callId: callId, participantID: member.participantID)
            await renegotiate(callId: callId)
        }
    }

    /// The call ended: every transport goes, and the room with them.
    func end(callId: String) async {
        try? await serialized(callId) { () async throws(CallError) in
            let gone = members.removeValue(forKey: callId) ?? [:]
            mutes[callId] = nil
            for member in gone.values { await closeTransport(callId: callId, participantID: member.participantID) }
        }
    }

    /// The SFU closed a participant's transport on its own (consent lost). Returns the call and
    /// user, or nil when Signaling had already let it go.
    func transportClosed(room: String, participantID: String, reason: String) async -> (callId: String, user: String)? {
        try? await serialized(room) { () async throws(CallError) -> (callId: String, user: String)? in
            guard let (user, member) = members[room]?.first(where: { $0.value.participantID == participantID }) else { return nil }
            members[room]?[user] = nil
            if members[room]?.isEmpty == true {
                members[room] = nil
                speakers[room] = nil
            }
            await member.client.deliver(RealtimeEvent("sfu-closed", .object([
                "callId": .string(room), "reason": .string(reason),
            ])))
            await renegotiate(callId: room)
            return (room, user)
        }
    }

    /// Tells every member of the call whose SFU room is `room` who speaks now (`active-speaker`,
    /// `userId` null when nobody does). Not serialized with the call's operations: it only
    /// reads who is there.
    func speakerChanged(room: String, participantID: String?) async {
        // Only rooms that are group calls (a WHIP room has no members to tell).
        guard let present = members[room] else { return }
        speakers[room] = participantID
        guard let event = speakerEvent(room: room, participantID: participantID) else { return }
        for member in present.values { await member.client.deliver(event) }
    }

    private func speakerEvent(room: String, participantID: String?) -> RealtimeEvent? {
        guard let present = members[room] else { return nil }
        let user = participantID.flatMap { id in present.first { $0.value.participantID == id }?.key }
        return RealtimeEvent("active-speaker", .object([
            "callId": .string(room), "userId": user.map(JSONValue.string) ?? .null,
        ]))
    }

    /// The loudest few of the call (`audio-levels`), by user.
    func audioLevels(room: String, levels: [AudioLevel]) async {
        guard let present = members[room] else { return }
        var users: [String: String] = [:]
        for (user, member) in present { users[member.participantID] = user }
        let listed: [JSONValue] = levels.compactMap { level in
            users[level.participantID].map { .object(["userId": .string($0), "level": .number(level.level)]) }
        }
        let event = RealtimeEvent("audio-levels", .object(["callId": .string(room), "levels": .array(listed)]))
        for member in present.values { await member.client.deliver(event) }
    }

    /// Tells one member that another's video is paused for it (`stream-paused`) or flows again
    /// (`stream-resumed`): its downlink cannot carry that video now. Only that member learns it;
    /// the publisher still sends, and everybody else still receives. `trackId` and `source` say
    /// which of the publisher's videos (its camera and its screen share pause apart).
    func videoPaused(
        room: String, subscriberID: String, publisherID: String, trackID: String, source: TrackSource, paused: Bool
    ) async {
        guard let present = members[room],
            let subscriber = present.values.first(where: { $0.participantID == subscriberID }),
            let publisher = present.first(where: { $0.value.participantID == publisherID })?.key
        else { return }
        await subscriber.client.deliver(RealtimeEvent(paused ? "stream-paused" : "stream-resumed", .object([
            "callId": .string(room), "userId": .string(publisher), "kind": .string("video"), "reason": .string("bandwidth"),
            "trackId": .string(trackID), "source": .string(source.rawValue),
        ])))
    }

    /// Mutes or unmutes `user`'s track at the SFU. A participant cannot lift a moderator's mute.
    func setMute(callId: String, user: String, kind: TrackKind, muted: Bool, byAdmin: Bool) async throws(CallError) {
        try await serialized(callId) { () async throws(CallError) in
            var state = mutes[callId]?[user]?[kind] ?? MuteState()
            do {
                try state.apply(muted: muted, byAdmin: byAdmin)
            } catch {
                throw CallError(.forbidden, "muted_by_admin", "your \(kind.rawValue) was muted by a moderator; only a moderator can unmute it")
            }
            mutes[callId, default: [:]][user, default: [:]][kind] = state
            guard let member = members[callId]?[user] else { return }
            do {
                _ = try await media.setMute(room: callId, participantID: member.participantID, kind: kind, muted: muted, byAdmin: byAdmin)
            } catch {
                throw Self.callError(error)
            }
        }
    }

    /// `user`'s layer preference for `publisher`'s video. Kept by the SFU for consumers that
    /// start later; before either has media there is nothing to apply it to yet (not an error:
    /// a client may say what it wants as soon as it shows the tile).
    func setLayers(callId: String, user: String, publisher: String, spatial: Int, temporal: Int?) async throws(CallError) {
        try await serialized(callId) { () async throws(CallError) in
            guard let member = members[callId]?[user], let other = members[callId]?[publisher] else { return }
            do {
                try await media.setLayers(
                    room: callId, participantID: member.participantID, publisherID: other.participantID, spatial: spatial,
                    temporal: temporal)
            } catch {
                throw Self.callError(error)
            }
        }
    }

    // MARK: - Internals

    private func newMember(callId: String, user: String, client: any RealtimeClient, sdp: String) async throws(CallError) -> Member {
        let negotiated: NegotiatedOffer
        do {
            negotiated = try SDPNegotiator.negotiate(offer: sdp, policy: GroupSession.policy, keepInactive: true)
        } catch {
            throw CallError(.invalid, "bad_sdp", "\(error)")
        }
        let participantID = MediaRoutes.newID()
        let local: LocalTransportDescription
        do {
            // Producers come from the session's view of the offer (apply), not from here.
            local = try await media.publish(
                room: callId, participantID: participantID, identity: user, remote: negotiated.remoteTransport, tracks: [])
        } catch {
            throw Self.callError(error)
        }
        logger.info("group call \(callId): \(user) joined the SFU as \(participantID)")
        return Member(participantID: participantID, session: GroupSession(local: local.sdp, sessionID: MediaRoutes.sessionID()), client: client)
    }

    private func apply(_ changes: GroupSession.OfferChanges, callId: String, participantID: String) async throws {
        if !changes.published.isEmpty {
            _ = try await media.addProducers(room: callId, participantID: participantID, tracks: changes.published.map(\.trackParameters))
        }
        if !changes.unpublished.isEmpty {
            try await media.removeProducers(room: callId, participantID: participantID, mids: changes.unpublished)
        }
        if !changes.stoppedForwarding.isEmpty {
            try await media.stopConsuming(room: callId, participantID: participantID, mids: changes.stoppedForwarding)
        }
    }

    /// A new transport starts unmuted at the SFU: replay what the call's mute state says.
    private func restoreMutes(callId: String, user: String, participantID: String) async throws {
        for (kind, state) in mutes[callId]?[user] ?? [:] where state.isMuted {
            if state.byAdmin {
                _ = try await media.setMute(room: callId, participantID: participantID, kind: kind, muted: true, byAdmin: true)
            }
            if state.bySelf {
                _ = try await media.setMute(room: callId, participantID: participantID, kind: kind, muted: true, byAdmin: false)
            }
        }
    }

    /// Offers to every member whose forwarded tracks differ from what the others publish.
    /// A member with an offer still out is skipped; its answer triggers this again.
    private func renegotiate(callId: String) async {
        guard let current = members[callId] else { return }
        for (user, var member) in current {
            let wanted = current.filter { $0.key != user }.flatMap { other, sender in
                sender.session.publishedTracks.map { track in
                    WantedTrack(
                        producerID: MediaCore.producerID(participant: sender.participantID, mid: track.mid), userID: other,
                        streamID: sender.participantID, kind: track.kind, codec: track.codec)
                }
            }
            guard let offer = member.session.makeOffer(wanted: wanted) else { continue }
            members[callId]?[user] = member
            if !offer.stopped.isEmpty {
                try? await media.stopConsuming(room: callId, participantID: member.participantID, mids: offer.stopped)
            }
            await member.client.deliver(RealtimeEvent("sfu-offer", .object([
                "callId": .string(callId), "sdp": .string(offer.sdp), "streams": streams(callId: callId, for: user),
            ])))
        }
    }

    /// `[{streamId, userId, audioMuted, videoMuted, tracks}]` of everyone but `user`: how a client
    /// maps the msid stream id of what it receives to a participant, and each msid track id
    /// (`tracks[].trackId`) to what it shows (`source`: a screen share gets the large tile).
    private func streams(callId: String, for user: String) -> JSONValue {
        let others = (members[callId] ?? [:]).filter { $0.key != user }.sorted { $0.key < $1.key }
        return .array(others.map { other, member in
            let state = mutes[callId]?[other] ?? [:]
            let tracks: [JSONValue] = member.session.publishedTracks.map { track in
                let source = member.screens.contains(track.mid) ? TrackSource.screen : .default(for: TrackKind(track.kind))
                return .object([
                    "trackId": .string(MediaCore.producerID(participant: member.participantID, mid: track.mid)),
                    "kind": .string(track.kind.rawValue), "source": .string(source.rawValue),
                ])
            }
            return .object([
                "streamId": .string(member.participantID), "userId": .string(other),
                "audioMuted": .bool(state[.audio]?.isMuted ?? false), "videoMuted": .bool(state[.video]?.isMuted ?? false),
                "tracks": .array(tracks),
            ])
        })
    }

    private func closeTransport(callId: String, participantID: String) async {
        do {
            try await media.unpublish(room: callId, participantID: participantID)
        } catch {
            // Already gone (consent expired a moment ago): nothing left to free.
            logger.debug("group call \(callId): closing \(participantID): \(error)")
        }
    }

    private static func callError(_ error: any Error) -> CallError {
        switch error {
        case let error as CallError: return error
        case GroupSessionError.badSDP(let reason): return CallError(.invalid, "bad_sdp", reason)
        case GroupSessionError.sectionsChanged(let reason): return CallError(.invalid, "bad_sdp", reason)
        case GroupSessionError.noOfferPending:
            return CallError(.conflict, "no_offer_pending", "Chorus has no offer outstanding on this session")
        case GroupSessionError.iceRestart:
            return CallError(.invalid, "ice_restart_unsupported", "ICE restarts are not supported: create a new RTCPeerConnection and send its offer")
        case MediaServerError.muteLockedByAdmin:
            return CallError(.forbidden, "muted_by_admin", "muted by a moderator; only a moderator can unmute")
        case let error as MediaServerError:
            return CallError(.conflict, "media_unavailable", "the SFU refused: \(error)")
        default:
            return CallError(.unavailable, "media_failed", "\(error)")
        }
    }
}
