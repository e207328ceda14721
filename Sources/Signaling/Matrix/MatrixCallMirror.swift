// Chorus → Matrix: what Chorus users do in a call whose room is a Matrix room becomes the
// `m.call.*` events a Matrix client expects from them, sent into the room as that user through
// the application service. Only actions that came from Chorus are mirrored (CallOrigin): what
// arrived from the homeserver is already there.
//
// Sends never hold up the call API: each call has its own queue (events of one call stay in
// order, calls do not wait for each other). A send that finds the homeserver unavailable is
// retried with the same transaction id, which the homeserver makes idempotent; a refused one
// is logged and dropped.

import Logging
import SocketIO
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

final class MatrixCallMirror: CallObserver {
    private struct State {
        /// The last queued send of each call: the next one waits for it.
        var queues: [String: (id: Int, task: Task<Void, Never>)] = [:]
        var nextQueueID = 0
        /// Calls whose m.call.invite Chorus sent (a later offer is a renegotiation).
        var invited: Set<String> = []
        /// Calls whose m.call.answer Chorus sent.
        var answered: Set<String> = []
        /// Per call, the users Chorus spoke for: they hang up when the server ends the call.
        var spokenFor: [String: Set<String>] = [:]
        var candidates: MatrixCandidateBatches
        var timer: Task<Void, Never>?
    }

    private let homeserver: any MatrixHomeserver
    private let ringTimeout: Duration
    /// Chorus's own URL, for the link in a group call's notice.
    private let webURL: String
    private let logger: Logger
    private let state: Mutex<State>
    private let retryDelays: [Duration]

    init(
        homeserver: any MatrixHomeserver, ringTimeout: Duration, webURL: String, logger: Logger,
        retryDelays: [Duration] = [.milliseconds(500), .seconds(1), .seconds(2)],
        candidateBatchDelay: Duration = .milliseconds(250)
    ) {
        self.state = Mutex(State(candidates: MatrixCandidateBatches(delay: candidateBatchDelay)))
        self.homeserver = homeserver
        self.ringTimeout = ringTimeout
        self.webURL = webURL
        self.logger = logger
        self.retryDelays = retryDelays
    }

    /// An outgoing event.
    struct Outgoing: Sendable, Equatable {
        var type: String
        var content: JSONValue
        var user: String
    }

    func callActivity(_ activity: CallActivity, origin: CallOrigin) {
        let call = activity.call
        guard InitiateCall.isMatrixRoomID(call.roomId) else { return }
        let outgoing = origin == .chorus ? state.withLock { events(for: activity, state: &$0) } : []
        switch activity {
        case .ended, .missed, .rejected:
            state.withLock { state in
                state.invited.remove(call.callId)
                state.answered.remove(call.callId)
                state.spokenFor.removeValue(forKey: call.callId)
                state.candidates.discard(call: call.callId)
            }
        default:
            break
        }
        for event in outgoing { enqueue(event, room: call.roomId, callId: call.callId) }
    }

    /// Decides the events for one activity; candidates go to the batches instead.
    private func events(for activity: CallActivity, state: inout State) -> [Outgoing] {
        let call = activity.call
        let id = call.callId
        func speak(_ user: String) { state.spokenFor[id, default: []].insert(user) }
        switch activity {
        case .initiated(let call, let offer):
            if call.isGroupCall {
                // Matrix VoIP is 1-to-1; the room learns of the call and where to join it.
                let link = "\(webURL)/?call=\(call.callId)"
                return [Outgoing(type: "m.room.message", content: .object([
                    "msgtype": .string("m.notice"),
                    "body": .string("\(call.initiator) started a group call in Chorus (call \(call.callId)): \(link)"),
                    "io.chorus.call": .object(["callId": .string(call.callId), "url": .string(link)]),
                ]), user: call.initiator)]
            }
            guard let offer, let invitee = call.participants.first(where: { $0.role == .invitee })?.user else { return [] }
            state.invited.insert(id)
            speak(call.initiator)
            return [Outgoing(
                type: "m.call.invite",
                content: MatrixCallContent.invite(id, user: call.initiator, sdp: offer, lifetime: ringTimeout, invitee: invitee),
                user: call.initiator)]
        case .relayed(let call, let from, let kind, let fields):
            guard !call.isGroupCall else { return [] }
            switch kind {
            case .offer:
                guard let sdp = MatrixCallContent.sdp(from: fields) else { return [] }
                speak(from)
                if from == call.initiator, call.status == .ringing {
                    guard !state.invited.contains(id),
                        let invitee = call.participants.first(where: { $0.role == .invitee })?.user
                    else { return [] }  // a second offer before the answer: Matrix has no place for it
                    state.invited.insert(id)
                    return [Outgoing(
                        type: "m.call.invite",
                        content: MatrixCallContent.invite(id, user: from, sdp: sdp, lifetime: ringTimeout, invitee: invitee),
                        user: from)]
                }
                return [Outgoing(
                    type: "m.call.negotiate",
                    content: MatrixCallContent.negotiate(id, user: from, type: "offer", sdp: sdp, lifetime: ringTimeout), user: from)]
            case .answer:
                guard let sdp = MatrixCallContent.sdp(from: fields) else { return [] }
                speak(from)
                if from != call.initiator, !state.answered.contains(id) {
                    state.answered.insert(id)
                    var out = [Outgoing(type: "m.call.answer", content: MatrixCallContent.answer(id, user: from, sdp: sdp), user: from)]
                    // A caller Chorus speaks for picks this answer, as its Matrix client would.
                    if state.spokenFor[id]?.contains(call.initiator) == true {
                        out.append(Outgoing(
                            type: "m.call.select_answer",
                            content: MatrixCallContent.selectAnswer(id, user: call.initiator, answeredBy: from), user: call.initiator))
                    }
                    return out
                }
                return [Outgoing(
                    type: "m.call.negotiate",
                    content: MatrixCallContent.negotiate(id, user: from, type: "answer", sdp: sdp, lifetime: ringTimeout), user: from)]
            case .candidate:
                speak(from)
                let entry = MatrixCallContent.candidate(from: fields)
                let end = entry["candidate"]?.stringValue?.isEmpty ?? true
                let key = MatrixCandidateBatches.Key(callId: id, user: from)
                if let batch = state.candidates.add(entry, for: key, endOfCandidates: end, now: .now) {
                    return [Self.candidatesEvent(batch)]
                }
                armTimer(&state)
                return []
            }
        case .answered:
            return []  // the SDP answer, relayed separately, is what Matrix needs
        case .rejected(let call, let by, _):
            guard !call.isGroupCall else { return [] }
            return [Outgoing(type: "m.call.reject", content: MatrixCallContent.reject(id, user: by), user: by)]
        case .ended(let call, let by, let reason):
            guard !call.isGroupCall else { return [] }
            let users = by.map { [$0] } ?? (state.spokenFor[id].map { $0.sorted() } ?? [])
            return users.map { Outgoing(type: "m.call.hangup", content: MatrixCallContent.hangup(id, user: $0, reason: reason), user: $0) }
        case .missed(let call):
            guard !call.isGroupCall, state.spokenFor[id]?.contains(call.initiator) == true else { return [] }
            return [Outgoing(
                type: "m.call.hangup", content: MatrixCallContent.hangup(id, user: call.initiator, reason: "invite_timeout"),
                user: call.initiator)]
        }
    }

    private static func candidatesEvent(_ batch: MatrixCandidateBatches.Batch) -> Outgoing {
        Outgoing(
            type: "m.call.candidates",
            content: MatrixCallContent.candidates(batch.key.callId, user: batch.key.user, batch.candidates), user: batch.key.user)
    }

    /// Called under the lock: a timer for the earliest pending batch.
    private func armTimer(_ state: inout State) {
        guard state.timer == nil, let deadline = state.candidates.nextDeadline else { return }
        state.timer = Task { [weak self] in
            try? await Task.sleep(until: deadline, clock: .continuous)
            self?.flushDueCandidates()
        }
    }

    private func flushDueCandidates() {
        let batches = state.withLock { state in
            state.timer = nil
            let batches = state.candidates.due(now: .now)
            armTimer(&state)
            return batches
        }
        // The room is needed to send; it rides in the queue entry made when the call was seen.
        for batch in batches {
            guard let room = rooms.withLock({ $0[batch.key.callId] }) else { continue }
            enqueue(Self.candidatesEvent(batch), room: room, callId: batch.key.callId)
        }
    }

    /// The Matrix room of each call with candidates waiting (they are batched by call, not room).
    private let rooms = Mutex<[String: String]>([:])

    private func enqueue(_ event: Outgoing, room: String, callId: String) {
        rooms.withLock { $0[callId] = room }
        state.withLock { locked in
            locked.nextQueueID += 1
            let id = locked.nextQueueID
            let previous = locked.queues[callId]?.task
            let transactionID = "chorus-\(UUID().uuidString.lowercased())"
            let task = Task { [self] in
                await previous?.value
                await send(event, room: room, transactionID: transactionID)
                self.state.withLock { state in
                    if state.queues[callId]?.id == id {
                        state.queues.removeValue(forKey: callId)
                        if !state.spokenFor.keys.contains(callId) { rooms.withLock { _ = $0.removeValue(forKey: callId) } }
                    }
                }
            }
            locked.queues[callId] = (id, task)
        }
    }

    private func send(_ event: Outgoing, room: String, transactionID: String) async {
        var attempt = 0
        while true {
            do throws(MatrixRequestError) {
                let eventID = try await homeserver.send(
                    event.type, content: event.content, room: room, as: event.user, transactionID: transactionID)
                logger.debug("sent \(event.type) as \(event.user) into \(room): \(eventID)")
                return
            } catch {
                if case .unavailable = error, attempt < retryDelays.count {
                    try? await Task.sleep(for: retryDelays[attempt])
                    attempt += 1
                    continue
                }
                logger.warning("could not send \(event.type) as \(event.user) into \(room): \(error)")
                return
            }
        }
    }

    /// A Matrix client answered a call whose caller Chorus speaks for: Chorus picks that answer
    /// for the caller (`m.call.select_answer` naming the answering party), as the caller's own
    /// Matrix client would.
    func selectAnswer(_ call: CallRecord, answeringParty: String) {
        guard state.withLock({ $0.spokenFor[call.callId]?.contains(call.initiator) == true }) else { return }
        var content = MatrixCallContent.base(call.callId, user: call.initiator)
        content["selected_party_id"] = .string(answeringParty)
        enqueue(Outgoing(type: "m.call.select_answer", content: .object(content), user: call.initiator), room: call.roomId, callId: call.callId)
    }

    /// Waits until every queued send is done (tests; graceful shutdown).
    func idle() async {
        while let task = state.withLock({ $0.queues.values.first?.task }) {
            await task.value
        }
    }
}
