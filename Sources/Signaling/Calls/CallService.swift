// The call state machine over a CallStore: the one implementation behind the REST API and both
// realtime transports. ringing → active → ended; ringing → rejected or missed. The store makes
// each transition atomic (of two concurrent answers exactly one wins); this type decides which
// transitions a user may ask for and tells the participants' connections what happened.

import Logging
import SFU
import Synchronization

import SocketIO

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

public struct CallServiceConfiguration: Sendable, Equatable {
    /// A call nobody answers within this becomes `missed` (CHORUS_RING_TIMEOUT).
    public var ringTimeout: Duration
    /// A user whose last realtime connection dropped leaves their calls after this, unless they
    /// reconnect (CHORUS_GRACE_PERIOD). After a start, the time participants of calls left
    /// active by the previous process have to reconnect (see CallService+Attendance).
    public var gracePeriod: Duration
    /// How often ringing calls are checked against the ring timeout (and, after a start,
    /// whether the grace period for calls left active has run out).
    public var sweepInterval: Duration
    public var iceServers: ICEServerConfiguration
    /// Calls per user and minute, open calls, realtime connections (see ServiceLimits).
    public var limits: ServiceLimits

    public init(
        ringTimeout: Duration = .seconds(60), gracePeriod: Duration = .seconds(15), sweepInterval: Duration = .seconds(1),
        iceServers: ICEServerConfiguration = ICEServerConfiguration(), limits: ServiceLimits = ServiceLimits()
    ) {
        self.limits = limits
        self.ringTimeout = ringTimeout
        self.gracePeriod = gracePeriod
        self.sweepInterval = sweepInterval
        self.iceServers = iceServers
    }
}

extension Duration {
    /// In seconds, to add to a Date.
    var timeInterval: TimeInterval {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

/// Which flag `toggle` changes.
public enum MediaToggle: String, Sendable {
    case audio, video
}

public final class CallService: Sendable {
    let store: any CallStore
    public let configuration: CallServiceConfiguration
    let hub: RealtimeHub
    /// Calls each user started in the last minute.
    private let startRate: Mutex<StartRateLimiter>
    let logger: Logger
    private let clock: @Sendable () -> Date
    /// The SFU side of group calls; nil when the service runs without media (tests).
    let group: GroupCallMedia?
    let media: MediaServer?
    /// Told of every committed change (the Matrix application service); nil without Matrix.
    let observer: (any CallObserver)?
    /// Checks new calls against their chat room (Matrix room membership); nil without Matrix.
    let rooms: (any CallRoomPolicy)?

    /// `now` is the clock (tests pass their own); times are kept to whole milliseconds.
    public init(
        store: any CallStore, configuration: CallServiceConfiguration = CallServiceConfiguration(), logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }, media: MediaServer? = nil,
        observer: (any CallObserver)? = nil, rooms: (any CallRoomPolicy)? = nil
    ) {
        self.observer = observer
        self.rooms = rooms
        self.media = media
        self.group = media.map { GroupCallMedia(media: $0, logger: logger) }
        self.store = store
        self.configuration = configuration
        self.hub = RealtimeHub(limits: configuration.limits)
        self.startRate = Mutex(StartRateLimiter(limit: configuration.limits.callsPerUserPerMinute))
        self.logger = logger
        self.clock = now
    }

    func now() -> Date { Timestamp.truncated(clock()) }

    /// Live realtime connections of `user` (tests wait on it).
    public func connectionCount(of user: String) -> Int { hub.connectionCount(of: user) }

    public func iceServers(for user: String) -> [ICEServer] {
        configuration.iceServers.servers(for: user, now: clock())
    }

    // MARK: - Reading

    public func status(_ callId: String, for user: String) async throws(CallError) -> CallRecord {
        try await load(callId, for: user).call
    }

    /// The call whose media room is `room` (a group call's SFU room is named by its call id),
    /// whatever its status, or nil when no call owns that room.
    public func call(owningRoom room: String) async throws(CallError) -> CallRecord? {
        guard room.utf8.count <= CallLimits.maximumIdentifierBytes, !CallLimits.hasNUL(room) else { return nil }
        return try await stored("read") { try await store.call(room) }
    }

    /// The user's ringing and active calls, newest first.
    public func activeCalls(of user: String) async throws(CallError) -> [CallRecord] {
        try await stored("list") { try await store.calls(of: user, statuses: [.ringing, .active]) }
    }

    /// A page of the user's ringing and active calls, newest first, cut as history pages are
    /// (never inside a group of calls created in the same millisecond), and where the next
    /// page starts. A user can be rung by many callers at once; one response stays bounded.
    public func activeCalls(of user: String, limit: Int, before: Date?) async throws(CallError) -> (calls: [CallRecord], nextBefore: Date?) {
        let all = try await activeCalls(of: user)
            .filter { call in before.map { call.createdAt < $0 } ?? true }
            .sorted { ($0.createdAt, $0.callId) > ($1.createdAt, $1.callId) }
        var (page, wholeGroup) = HistoryPage.cut(Array(all.prefix(limit + 1)), limit: limit)
        if let wholeGroup { page += all.filter { $0.createdAt == wholeGroup } }
        let more = page.last.map { last in all.contains { $0.createdAt < last.createdAt } } ?? false
        return (page, more ? page.last?.createdAt : nil)
    }

    /// A page of the user's calls, newest first, and where the next page starts if there is
    /// one. The store may end a page early (never inside a group of calls created in the same
    /// millisecond), so whether more calls exist is asked, not guessed from the page's size.
    public func history(of user: String, limit: Int, before: Date?) async throws(CallError) -> (calls: [CallRecord], nextBefore: Date?) {
        let page = try await stored("list") { try await store.history(of: user, limit: limit, before: before) }
        guard let oldest = page.last?.createdAt else { return (page, nil) }
        let more = try await stored("list") { try await store.history(of: user, limit: 1, before: oldest) }
        return (page, more.isEmpty ? nil : oldest)
    }

    // MARK: - Transitions

    /// Starts a call. `callId` is given only for a call that already has one elsewhere (a
    /// Matrix `m.call.invite`'s `call_id`); such a call is not checked against its room, whose
    /// homeserver already let the invite through.
    public func initiate(_ request: InitiateCall, by user: String, callId: String? = nil) async throws(CallError) -> CallRecord {
        var request = request
        if callId == nil, let rooms {
            request = try await rooms.admit(request, by: user)
        }
        if !request.isGroupCall, request.invitees.count != 1 {
            throw .invalid("invitees", "exactly one user id for a 1-to-1 call")
        }
        let now = now()
        try await checkStartLimits(user, now: now)
        let video = request.callType == .video
        let call = CallRecord(
            callId: callId ?? UUID().uuidString.lowercased(), roomId: request.roomId, callType: request.callType,
            isGroupCall: request.isGroupCall, initiator: user, status: .ringing, createdAt: now,
            participants: [CallParticipant(user: user, role: .initiator, status: .joined, videoEnabled: video, joinedAt: now)]
                + request.invitees.map { CallParticipant(user: $0, role: .invitee, status: .invited, videoEnabled: video) })
        let details: JSONValue = .object([
            "roomId": .string(request.roomId), "callType": .string(request.callType.rawValue),
            "isGroupCall": .bool(request.isGroupCall), "invitees": .array(request.invitees.map(JSONValue.string)),
        ])
        try await stored("initiate") {
            try await store.create(call, event: NewCallEvent(type: "initiated", actor: user, payload: details.jsonText, at: now))
        }
        if let offer = request.offer {
            let payload = JSONValue.object(["callId": .string(call.callId), "from": .string(user), "sdp": .string(offer), "type": .string("offer")])
            try await stored("initiate") {
                try await store.append(NewCallEvent(type: RelayKind.offer.eventType, actor: user, payload: payload.jsonText, at: now), to: call.callId)
            }
        }
        for invitee in request.invitees {
            var data = call.json.merging([
                "from": .string(user), "userId": .string(user),
                "iceServers": .array(iceServers(for: invitee).map(\.json)),
            ])
            // The offer rides with the ring (as in a Matrix m.call.invite): answer, then reply
            // with webrtc-answer.
            if let offer = request.offer {
                data = data.merging(["sdp": .string(offer), "offer": .object(["type": .string("offer"), "sdp": .string(offer)])])
            }
            await emit(RealtimeEvent("incoming-call", data), to: [invitee])
        }
        notify(.initiated(call, offer: request.offer))
        logger.debug("call initiated", metadata: ["call": "\(call.callId)", "by": "\(user)"])
        return call
    }

    public func answer(_ callId: String, by user: String) async throws(CallError) -> CallRecord {
        let (call, me) = try await load(callId, for: user)
        guard me.role == .invitee else {
            throw CallError(.forbidden, "forbidden", "the caller cannot answer its own call")
        }
        let now = now()
        let join = ParticipantChange(user: user, status: .joined, joinedAt: now)
        let event = NewCallEvent(type: "answered", actor: user, at: now)
        let record: CallRecord
        if call.isGroupCall {
            guard call.status == .ringing || call.status == .active else { throw .conflict("answer", status: call.status) }
            guard me.status != .joined else { throw .conflict("you have already answered this call") }
            record = try await joinGroup(call, change: join, event: event, action: "answer")
        } else {
            record = try await stored("answer") {
                try await store.transition(
                    callId, from: [.ringing], to: .active, at: now, reason: nil, participants: [join], event: event)
            }
        }
        await emit(RealtimeEvent("call-answered", eventData(record, actor: user)), to: record.participants.map(\.user))
        notify(.answered(record, by: user))
        return record
    }

    public func reject(_ callId: String, by user: String, reason: String?) async throws(CallError) -> CallRecord {
        let (call, me) = try await load(callId, for: user)
        return try await reject(call, me, reason: reason)
    }

    private func reject(_ call: CallRecord, _ me: CallParticipant, reason: String?) async throws(CallError) -> CallRecord {
        let user = me.user
        guard me.role == .invitee else {
            throw CallError(.forbidden, "forbidden", "the caller cannot reject its own call; end it instead")
        }
        let now = now()
        let decline = ParticipantChange(user: user, status: .rejected, leftAt: now)
        let event = NewCallEvent(type: "rejected", actor: user, payload: Self.reasonPayload(reason), at: now)
        guard call.isGroupCall else {
            // A declined 1-to-1 call is over; the caller is out of it too.
            let record = try await stored("reject") {
                try await store.transition(
                    call.callId, from: [.ringing], to: .rejected, at: now, reason: reason ?? "rejected",
                    participants: [decline, ParticipantChange(user: call.initiator, status: .left, leftAt: now)], event: event)
            }
            await emit(RealtimeEvent("call-rejected", eventData(record, actor: user, reason: reason)), to: record.participants.map(\.user))
            notify(.rejected(record, by: user, reason: reason))
            return record
        }
        // In a group call a decline only concerns the one who declines.
        guard call.status == .ringing || call.status == .active else { throw .conflict("reject", status: call.status) }
        guard me.status == .invited else { throw .conflict("only a ringing invitation can be rejected") }
        let record = try await stored("reject") { try await store.updateParticipants(call.callId, changes: [decline], event: event) }
        await emit(RealtimeEvent("call-rejected", eventData(record, actor: user, reason: reason)), to: record.participants.map(\.user))
        // Everyone declined a group call that nobody answered: it is over.
        let stillInvited = record.participants.contains { $0.role == .invitee && ($0.status == .invited || $0.status == .joined) }
        if record.status == .ringing, !stillInvited {
            let departures = record.participants.filter { $0.status == .joined }.map {
                ParticipantChange(user: $0.user, status: .left, leftAt: now)
            }
            if let over = try? await store.transition(
                call.callId, from: [.ringing], to: .rejected, at: now, reason: "rejected", participants: departures,
                event: NewCallEvent(type: "rejected", actor: nil, payload: Self.reasonPayload("every invitee rejected"), at: now))
            {
                await emit(RealtimeEvent("call-ended", eventData(over, actor: nil, reason: "rejected")), to: over.participants.map(\.user))
                return over
            }
        }
        return record
    }

    /// Ends the call for everyone: either side of a 1-to-1 call, or the initiator of a group
    /// call. For anyone else in a group call, `end` means "I hang up": leave if joined, decline
    /// if still invited.
    public func end(_ callId: String, by user: String, reason: String?) async throws(CallError) -> CallRecord {
        let (call, me) = try await load(callId, for: user)
        guard call.status == .ringing || call.status == .active else { throw .conflict("end", status: call.status) }
        if call.isGroupCall, me.role != .initiator {
            switch me.status {
            case .joined: return try await leave(call, user: user, reason: reason, excluding: nil)
            case .invited: return try await reject(call, me, reason: reason)
            case .left, .rejected: throw .conflict("you are no longer in this call")
            }
        }
        return try await endCall(call, by: user, reason: reason, excluding: nil)
    }

    /// A participant leaves: a 1-to-1 call ends; a group call goes on until its last joined
    /// participant is gone.
    func leave(_ call: CallRecord, user: String, reason: String?, excluding connection: String?) async throws(CallError) -> CallRecord {
        guard call.status == .ringing || call.status == .active else { throw .conflict("leave", status: call.status) }
        guard call.participant(user)?.status == .joined else { throw .conflict("you have not joined this call") }
        guard call.isGroupCall else {
            return try await endCall(call, by: user, reason: reason ?? "left", excluding: connection)
        }
        let now = now()
        let record = try await stored("leave") {
            try await store.updateParticipants(
                call.callId, changes: [ParticipantChange(user: user, status: .left, leftAt: now)],
                event: NewCallEvent(type: "left", actor: user, payload: Self.reasonPayload(reason), at: now))
        }
        await group?.leave(callId: call.callId, user: user)
        await emit(
            RealtimeEvent("user-left", Self.presenceData(call.callId, user: user, reason: reason)),
            to: Self.present(record) + [user], excluding: connection)
        guard !record.participants.contains(where: { $0.status == .joined }) else { return record }
        // The last one out ends a group call. A concurrent `end` may have won: then it is over anyway.
        guard let over = try? await store.transition(
            call.callId, from: [.ringing, .active], to: .ended, at: now, reason: "everyone left", participants: [],
            event: NewCallEvent(type: "ended", actor: nil, payload: Self.reasonPayload("everyone left"), at: now))
        else { return record }
        await group?.end(callId: call.callId)
        await emit(RealtimeEvent("call-ended", eventData(over, actor: nil, reason: "everyone left")), to: over.participants.map(\.user))
        return over
    }

    /// Ends the call for everyone still in it; `user` nil when the server ends it.
    func endCall(_ call: CallRecord, by user: String?, reason: String?, excluding connection: String?) async throws(CallError) -> CallRecord {
        let now = now()
        let departures = call.participants.filter { $0.status == .joined }.map {
            ParticipantChange(user: $0.user, status: .left, leftAt: now)
        }
        let record = try await stored("end") {
            try await store.transition(
                call.callId, from: [.ringing, .active], to: .ended, at: now, reason: reason, participants: departures,
                event: NewCallEvent(type: "ended", actor: user, payload: Self.reasonPayload(reason), at: now))
        }
        if call.isGroupCall { await group?.end(callId: call.callId) }
        await emit(
            RealtimeEvent("call-ended", eventData(record, actor: user, reason: reason)),
            to: record.participants.map(\.user), excluding: connection)
        notify(.ended(record, by: user, reason: reason))
        return record
    }

    /// Realtime `join-call`: an invitee joining answers; a joined participant (a reconnecting
    /// client) is announced again; a group participant who left or declined comes back.
    public func join(_ callId: String, by user: String, excluding connection: String? = nil) async throws(CallError) -> CallRecord {
        let (call, me) = try await load(callId, for: user)
        guard call.status == .ringing || call.status == .active else { throw .conflict("join", status: call.status) }
        let record: CallRecord
        switch me.status {
        case .joined:
            record = call
        case .invited:
            record = try await answer(callId, by: user)
        case .left, .rejected:
            guard call.isGroupCall else { throw .conflict("you are no longer in this call") }
            let now = now()
            record = try await joinGroup(
                call, change: ParticipantChange(user: user, status: .joined, joinedAt: now),
                event: NewCallEvent(type: "joined", actor: user, at: now), action: "join")
        }
        var data = Self.presenceData(callId, user: user, reason: nil)
        if let participant = record.participant(user) { data = data.merging(["participant": participant.json]) }
        await emit(RealtimeEvent("user-joined", data), to: Self.present(record), excluding: connection)
        return record
    }

    /// Realtime `leave-call`.
    public func leave(_ callId: String, by user: String, excluding connection: String? = nil) async throws(CallError) -> CallRecord {
        let (call, _) = try await load(callId, for: user)
        return try await leave(call, user: user, reason: nil, excluding: connection)
    }

    /// Relays an offer, answer or ICE candidate to the other participants still in the call (or
    /// to `to` only) and records it. Returns the users it was addressed to.
    @discardableResult
    public func relay(_ message: RelayMessage, callId: String, from user: String, excluding connection: String? = nil) async throws(CallError) -> [String] {
        let (call, me) = try await load(callId, for: user)
        guard call.status == .ringing || call.status == .active else {
            throw .conflict("send \(message.kind.eventType) to", status: call.status)
        }
        guard me.status == .joined || me.status == .invited else { throw .conflict("you are no longer in this call") }
        let recipients: [String]
        if let to = message.to {
            guard to != user, let target = call.participant(to), target.status == .joined || target.status == .invited else {
                throw .invalid("to", "another participant who is still in the call")
            }
            recipients = [to]
        } else {
            recipients = Self.present(call).filter { $0 != user }
        }
        var data = message.fields
        data["callId"] = .string(callId)
        data["from"] = .string(user)
        data["userId"] = .string(user)
        if let to = message.to { data["to"] = .string(to) }
        let payload = JSONValue.object(data)
        try await stored("relay") {
            try await store.append(NewCallEvent(type: message.kind.eventType, actor: user, payload: payload.jsonText, at: now()), to: callId)
        }
        await emit(RealtimeEvent(message.kind.eventName, payload), to: recipients, excluding: connection)
        notify(.relayed(call, from: user, kind: message.kind, fields: message.fields))
        return recipients
    }

    public func toggle(_ media: MediaToggle, callId: String, by user: String, enabled: Bool, excluding connection: String? = nil) async throws(CallError) -> CallRecord {
        let (call, me) = try await load(callId, for: user)
        guard call.status == .ringing || call.status == .active else { throw .conflict("toggle \(media.rawValue) in", status: call.status) }
        guard me.status == .joined || me.status == .invited else { throw .conflict("you are no longer in this call") }
        if call.isGroupCall, let group {
            // At the router, not only a flag: a muted track is no longer forwarded.
            try await group.setMute(callId: callId, user: user, kind: media.trackKind, muted: !enabled, byAdmin: false)
        }
        let now = now()
        let change = media == .audio
            ? ParticipantChange(user: user, audioEnabled: enabled) : ParticipantChange(user: user, videoEnabled: enabled)
        let record = try await stored("toggle") {
            try await store.updateParticipants(
                callId, changes: [change],
                event: NewCallEvent(type: "\(media.rawValue)-toggled", actor: user, payload: JSONValue.object(["enabled": .bool(enabled)]).jsonText, at: now))
        }
        let data = Self.presenceData(callId, user: user, reason: nil).merging(["enabled": .bool(enabled)])
        await emit(RealtimeEvent("\(media.rawValue)-toggled", data), to: Self.present(record), excluding: connection)
        return record
    }

    /// Turns calls that rang longer than the ring timeout into `missed` and tells their
    /// participants. Run every `sweepInterval`, and once at start so that calls left ringing
    /// by a stopped server are settled.
    @discardableResult
    public func expireRingingCalls(now date: Date? = nil) async -> [CallRecord] {
        let now = date.map(Timestamp.truncated) ?? now()
        let cutoff = now - configuration.ringTimeout.timeInterval
        let due: [CallRecord]
        do {
            due = try await store.ringing(createdBefore: cutoff)
        } catch {
            logger.error("ring-timeout sweep failed: \(error)")
            return []
        }
        var missed: [CallRecord] = []
        for call in due {
            let departures = call.participants.filter { $0.status == .joined }.map {
                ParticipantChange(user: $0.user, status: .left, leftAt: now)
            }
            do {
                let record = try await store.transition(
                    call.callId, from: [.ringing], to: .missed, at: now, reason: "timeout", participants: departures,
                    event: NewCallEvent(type: "missed", actor: nil, payload: Self.reasonPayload("timeout"), at: now))
                missed.append(record)
                await emit(RealtimeEvent("call-ended", eventData(record, actor: nil, reason: "timeout")), to: record.participants.map(\.user))
                notify(.missed(record))
            } catch CallStoreError.conflict {
                continue  // answered or ended meanwhile
            } catch {
                logger.error("could not mark call \(call.callId) missed: \(error)")
            }
        }
        return missed
    }

    // MARK: - Helpers

    /// Refuses a call start over the user's rate or open-call limit (429 with Retry-After).
    /// The open calls are counted first, so a refused start does not use up the rate.
    private func checkStartLimits(_ user: String, now: Date) async throws(CallError) {
        let limits = configuration.limits
        let open = try await stored("initiate") { try await store.calls(of: user, statuses: [.ringing, .active]) }
        let inCalls = open.filter { $0.participant(user)?.status == .joined }.count
        if inCalls >= limits.openCallsPerUser {
            throw CallError(LimitExceeded(
                "too_many_open_calls", "at most \(limits.openCallsPerUser) ringing or active calls per user; end one first",
                retryAfter: 30))
        }
        if case .failure(let exceeded) = startRate.withLock({ $0.admit(user, now: now) }) {
            throw CallError(exceeded)
        }
    }

    /// The call and the user's place in it: 404 when there is no such call, 403 when the user is
    /// not a participant (so a stranger learns nothing about the call).
    func load(_ callId: String, for user: String) async throws(CallError) -> (call: CallRecord, me: CallParticipant) {
        guard !callId.isEmpty, callId.utf8.count <= CallLimits.maximumIdentifierBytes, !CallLimits.hasNUL(callId) else { throw .notFound }
        guard let call = try await stored("read", { try await store.call(callId) }) else { throw .notFound }
        guard let me = call.participant(user) else { throw .notParticipant }
        return (call, me)
    }

    private func joinGroup(_ call: CallRecord, change: ParticipantChange, event: NewCallEvent, action: String) async throws(CallError) -> CallRecord {
        if call.status == .ringing {
            // The first one to answer makes the call active; later ones only join it.
            do {
                return try await store.transition(
                    call.callId, from: [.ringing], to: .active, at: event.at, reason: nil, participants: [change], event: event)
            } catch CallStoreError.conflict(current: .active) {
                // Someone else answered first.
            } catch {
                throw storeFailure(error, action: action)
            }
        } else if call.status != .active {
            throw .conflict(action, status: call.status)
        }
        return try await stored(action) { try await store.updateParticipants(call.callId, changes: [change], event: event) }
    }

    /// Runs a store operation, turning its errors into CallErrors.
    func stored<T>(_ action: String, _ body: () async throws -> T) async throws(CallError) -> T {
        do {
            return try await body()
        } catch {
            throw storeFailure(error, action: action)
        }
    }

    /// The CallError for a store error; a database failure (503) is logged with its cause, which
    /// the client is not told (a full disk, a read-only file, a lost PostgreSQL).
    func storeFailure(_ error: any Error, action: String) -> CallError {
        let callError = Self.callError(error, action: action)
        if callError.kind == .unavailable, error as? CallStoreError != .starting {
            logger.error("\(action): the call database failed: \(error)")
        }
        return callError
    }

    static func callError(_ error: any Error, action: String) -> CallError {
        switch error {
        case let error as CallError: return error
        case CallStoreError.notFound: return .notFound
        case CallStoreError.conflict(let current): return .conflict(action, status: current)
        case CallStoreError.notParticipant: return .notParticipant
        case CallStoreError.duplicate: return CallError(.conflict, "conflict", "a call with this id exists")
        case CallStoreError.starting:
            return CallError(.unavailable, "unavailable", "the server is starting: the call database is not open yet")
        case CallStoreError.unwritable:
            return CallError(.unavailable, "database_unwritable", "the call database cannot take changes at the moment; try again later")
        default: return CallError(.unavailable, "unavailable", "the call database is unavailable")
        }
    }

    /// Users still in the call (joined, or invited and not yet answered).
    static func present(_ call: CallRecord) -> [String] {
        call.participants.filter { $0.status == .joined || $0.status == .invited }.map(\.user)
    }

    static func reasonPayload(_ reason: String?) -> String? {
        reason.map { JSONValue.object(["reason": .string($0)]).jsonText }
    }

    static func presenceData(_ callId: String, user: String, reason: String?) -> JSONValue {
        var data: [String: JSONValue] = ["callId": .string(callId), "userId": .string(user), "from": .string(user)]
        if let reason { data["reason"] = .string(reason) }
        return .object(data)
    }

    /// `{callId, status, from, userId, reason, call}` for the state-change events.
    func eventData(_ call: CallRecord, actor: String?, reason: String? = nil) -> JSONValue {
        var data: [String: JSONValue] = [
            "callId": .string(call.callId), "status": .string(call.status.rawValue), "call": call.json,
        ]
        if let actor {
            data["from"] = .string(actor)
            data["userId"] = .string(actor)
        }
        if let reason { data["reason"] = .string(reason) }
        return .object(data)
    }

    func notify(_ activity: CallActivity) {
        observer?.callActivity(activity, origin: CallOrigin.current)
    }

    func emit(_ event: RealtimeEvent, to users: some Sequence<String>, excluding connection: String? = nil) async {
        for client in hub.clients(of: users, excluding: connection) {
            await client.deliver(event)
        }
    }
}
