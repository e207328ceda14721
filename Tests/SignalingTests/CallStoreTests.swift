// One suite of CallStore behaviour, run against SQLite and a real PostgreSQL (each case on a
// fresh database): what is stored reads back, transitions are atomic and exclusive, pages
// neither lose nor repeat calls, and text is only ever bound, never spliced into SQL.

import Foundation
import SignalingTestSupport
import Testing
@testable import Signaling

@Suite struct CallStoreTests {
    static let alice = "@alice:example.org"
    static let bob = "@bob:example.org"
    static let carol = "@carol:example.org"
    /// A time with a sub-millisecond part, to see it cut to the millisecond on both backends.
    static let t0 = Date(timeIntervalSince1970: 1_790_000_000.123_456)

    static func call(
        _ id: String, at: Date = t0, room: String = "!room:example.org", initiator: String = alice,
        invitees: [String] = [bob], type: CallType = .video, group: Bool = false, status: CallStatus = .ringing
    ) -> CallRecord {
        CallRecord(
            callId: id, roomId: room, callType: type, isGroupCall: group, initiator: initiator, status: status,
            createdAt: at,
            participants: [CallParticipant(user: initiator, role: .initiator, status: .joined, videoEnabled: type == .video, joinedAt: at)]
                + invitees.map { CallParticipant(user: $0, role: .invitee, status: .invited, videoEnabled: type == .video) })
    }

    static func initiated(_ call: CallRecord) -> NewCallEvent {
        NewCallEvent(type: "initiated", actor: call.initiator, payload: #"{"invitees":1}"#, at: call.createdAt)
    }

    /// `record` as the store gives it back: every time cut to whole milliseconds.
    static func stored(_ record: CallRecord) -> CallRecord {
        var copy = record
        copy.createdAt = StoredTime.truncated(record.createdAt)
        copy.answeredAt = record.answeredAt.map(StoredTime.truncated)
        copy.endedAt = record.endedAt.map(StoredTime.truncated)
        copy.participants = record.participants.map {
            var participant = $0
            participant.joinedAt = $0.joinedAt.map(StoredTime.truncated)
            participant.leftAt = $0.leftAt.map(StoredTime.truncated)
            return participant
        }
        return copy
    }

    @Test(arguments: StoreBackend.available)
    func createsAndReadsBack(_ backend: StoreBackend) async throws {
        try await TestDatabase.with(backend) { database in
            try await database.withStore { store in
                let call = Self.call("c1", invitees: [Self.bob, Self.carol])
                try await store.create(call, event: Self.initiated(call))
                let read = try #require(try await store.call("c1"))
                #expect(read == Self.stored(call))
                #expect(read.createdAt.timeIntervalSince1970 == 1_790_000_000.123)
                #expect(read.participants.map(\.user) == [Self.alice, Self.bob, Self.carol])
                let events = try await store.events("c1")
                #expect(events.map(\.type) == ["initiated"])
                #expect(events.first?.actor == Self.alice)
                #expect(events.first?.createdAt == StoredTime.truncated(Self.t0))
                #expect(try await store.call("nope") == nil)
            }
        }
    }

    @Test(arguments: StoreBackend.available)
    func duplicateIdIsRefusedAndChangesNothing(_ backend: StoreBackend) async throws {
        try await TestDatabase.with(backend) { database in
            try await database.withStore { store in
                let first = Self.call("dup")
                try await store.create(first, event: Self.initiated(first))
                let second = Self.call("dup", at: Self.t0 + 5, room: "!other:example.org", invitees: [Self.carol])
                await #expect(throws: CallStoreError.duplicate) {
                    try await store.create(second, event: Self.initiated(second))
                }
                #expect(try await store.call("dup") == Self.stored(first))
                #expect(try await store.events("dup").count == 1)
                #expect(try await store.history(of: Self.carol, limit: 10, before: nil).isEmpty)
            }
        }
    }

    @Test(arguments: StoreBackend.available)
    func transitionsStampTheirTimes(_ backend: StoreBackend) async throws {
        try await TestDatabase.with(backend) { database in
            try await database.withStore { store in
                let call = Self.call("t1")
                try await store.create(call, event: Self.initiated(call))
                let answeredAt = Self.t0 + 3.000_9
                let active = try await store.transition(
                    "t1", from: [.ringing], to: .active, at: answeredAt, reason: nil,
                    participants: [ParticipantChange(user: Self.bob, status: .joined, joinedAt: answeredAt)],
                    event: NewCallEvent(type: "answered", actor: Self.bob, at: answeredAt))
                #expect(active.status == .active)
                #expect(active.answeredAt == StoredTime.truncated(answeredAt))
                #expect(active.endedAt == nil && active.endReason == nil)
                #expect(active.participant(Self.bob)?.status == .joined)
                #expect(active.participant(Self.bob)?.joinedAt == StoredTime.truncated(answeredAt))
                #expect(try await store.call("t1") == active)

                let endedAt = answeredAt + 60
                let ended = try await store.transition(
                    "t1", from: [.ringing, .active], to: .ended, at: endedAt, reason: "hangup",
                    participants: [
                        ParticipantChange(user: Self.alice, status: .left, leftAt: endedAt),
                        ParticipantChange(user: Self.bob, status: .left, leftAt: endedAt),
                    ],
                    event: NewCallEvent(type: "ended", actor: Self.alice, payload: #"{"reason":"hangup"}"#, at: endedAt))
                #expect(ended.status == .ended)
                #expect(ended.answeredAt == StoredTime.truncated(answeredAt))
                #expect(ended.endedAt == StoredTime.truncated(endedAt))
                #expect(ended.endReason == "hangup")
                #expect(ended.participants.allSatisfy { $0.status == .left && $0.leftAt == StoredTime.truncated(endedAt) })
                #expect(try await store.events("t1").map(\.type) == ["initiated", "answered", "ended"])

                // ringing → rejected and ringing → missed stamp endedAt, not answeredAt.
                for (id, status) in [("t2", CallStatus.rejected), ("t3", .missed)] {
                    let other = Self.call(id)
                    try await store.create(other, event: Self.initiated(other))
                    let done = try await store.transition(
                        id, from: [.ringing], to: status, at: Self.t0 + 60, reason: status.rawValue, participants: [],
                        event: NewCallEvent(type: status.rawValue, actor: nil, at: Self.t0 + 60))
                    #expect(done.status == status)
                    #expect(done.answeredAt == nil)
                    #expect(done.endedAt == StoredTime.truncated(Self.t0 + 60))
                    #expect(done.endReason == status.rawValue)
                }
            }
        }
    }

    @Test(arguments: StoreBackend.available)
    func illegalTransitionIsAConflictAndLeavesNoTrace(_ backend: StoreBackend) async throws {
        try await TestDatabase.with(backend) { database in
            try await database.withStore { store in
                let call = Self.call("x1")
                try await store.create(call, event: Self.initiated(call))
                _ = try await store.transition(
                    "x1", from: [.ringing, .active], to: .ended, at: Self.t0 + 1, reason: "cancelled",
                    participants: [], event: NewCallEvent(type: "ended", actor: Self.alice, at: Self.t0 + 1))
                let before = try await store.call("x1")

                // Answering or ending an ended call: 409 material, with the status it is in.
                await #expect(throws: CallStoreError.conflict(current: .ended)) {
                    try await store.transition(
                        "x1", from: [.ringing], to: .active, at: Self.t0 + 2, reason: nil,
                        participants: [ParticipantChange(user: Self.bob, status: .joined)],
                        event: NewCallEvent(type: "answered", actor: Self.bob, at: Self.t0 + 2))
                }
                await #expect(throws: CallStoreError.conflict(current: .ended)) {
                    try await store.transition(
                        "x1", from: [.ringing, .active], to: .ended, at: Self.t0 + 3, reason: "again",
                        participants: [], event: NewCallEvent(type: "ended", actor: Self.alice, at: Self.t0 + 3))
                }
                await #expect(throws: CallStoreError.notFound) {
                    try await store.transition(
                        "missing", from: [.ringing], to: .active, at: Self.t0, reason: nil, participants: [],
                        event: NewCallEvent(type: "answered", actor: Self.bob, at: Self.t0))
                }
                #expect(try await store.call("x1") == before)
                #expect(try await store.events("x1").map(\.type) == ["initiated", "ended"])

                // A legal transition whose participant change fails rolls back entirely.
                let other = Self.call("x2")
                try await store.create(other, event: Self.initiated(other))
                await #expect(throws: CallStoreError.notParticipant) {
                    try await store.transition(
                        "x2", from: [.ringing], to: .active, at: Self.t0 + 4, reason: nil,
                        participants: [
                            ParticipantChange(user: Self.bob, status: .joined),
                            ParticipantChange(user: "@mallory:example.org", status: .joined),
                        ],
                        event: NewCallEvent(type: "answered", actor: Self.bob, at: Self.t0 + 4))
                }
                #expect(try await store.call("x2") == Self.stored(other))
                #expect(try await store.events("x2").count == 1)
            }
        }
    }

    @Test(arguments: StoreBackend.available)
    func participantChanges(_ backend: StoreBackend) async throws {
        try await TestDatabase.with(backend) { database in
            try await database.withStore { store in
                let call = Self.call("p1", type: .voice, group: true)
                try await store.create(call, event: Self.initiated(call))

                let toggled = try await store.updateParticipants(
                    "p1", changes: [ParticipantChange(user: Self.alice, audioEnabled: false, videoEnabled: true)],
                    event: NewCallEvent(type: "audio-toggled", actor: Self.alice, payload: #"{"enabled":false}"#, at: Self.t0 + 1))
                let alice = try #require(toggled.participant(Self.alice))
                #expect(!alice.audioEnabled && alice.videoEnabled)
                #expect(alice.status == .joined && alice.joinedAt == StoredTime.truncated(Self.t0))  // untouched fields stay

                // A group participant who joins uninvited is added last, with a voice call's defaults.
                let added = try await store.updateParticipants(
                    "p1", changes: [ParticipantChange(user: Self.carol, status: .joined, joinedAt: Self.t0 + 2, addAs: .invitee)],
                    event: NewCallEvent(type: "joined", actor: Self.carol, at: Self.t0 + 2))
                #expect(added.participants.map(\.user) == [Self.alice, Self.bob, Self.carol])
                #expect(added.participant(Self.carol) == CallParticipant(
                    user: Self.carol, role: .invitee, status: .joined, audioEnabled: true, videoEnabled: false,
                    joinedAt: StoredTime.truncated(Self.t0 + 2)))
                // addAs for someone already there is an ordinary update, not a second row.
                let again = try await store.updateParticipants(
                    "p1", changes: [ParticipantChange(user: Self.carol, status: .left, leftAt: Self.t0 + 3, addAs: .invitee)],
                    event: NewCallEvent(type: "left", actor: Self.carol, at: Self.t0 + 3))
                #expect(again.participants.count == 3)
                #expect(again.participant(Self.carol)?.status == .left)

                // Without addAs a stranger is refused, and the whole change with it.
                await #expect(throws: CallStoreError.notParticipant) {
                    try await store.updateParticipants(
                        "p1",
                        changes: [
                            ParticipantChange(user: Self.bob, status: .joined),
                            ParticipantChange(user: "@mallory:example.org", videoEnabled: true),
                        ],
                        event: NewCallEvent(type: "joined", actor: Self.bob, at: Self.t0 + 4))
                }
                #expect(try await store.call("p1")?.participant(Self.bob)?.status == .invited)
                await #expect(throws: CallStoreError.notFound) {
                    try await store.updateParticipants(
                        "missing", changes: [ParticipantChange(user: Self.bob, status: .joined)],
                        event: NewCallEvent(type: "joined", actor: Self.bob, at: Self.t0))
                }
                #expect(try await store.events("p1").map(\.type) == ["initiated", "audio-toggled", "joined", "left"])
            }
        }
    }

    @Test(arguments: StoreBackend.available)
    func eventsKeepOrderAndPayload(_ backend: StoreBackend) async throws {
        try await TestDatabase.with(backend) { database in
            try await database.withStore { store in
                let call = Self.call("e1")
                try await store.create(call, event: Self.initiated(call))
                let sdp = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
                let payloads: [String?] = (0..<40).map { index in
                    switch index % 4 {
                    case 0: #"{"sdp":"\#(sdp.replacingOccurrences(of: "\r\n", with: "\\r\\n"))","n":\#(index)}"#
                    case 1: #"{"candidate":"candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host","sdpMid":"0","sdpMLineIndex":0}"#
                    case 2: nil
                    default: "not json at all: ' \" \\ tab\there"
                    }
                }
                for (index, payload) in payloads.enumerated() {
                    // Same time for many: order must come from the id, not the clock.
                    try await store.append(
                        NewCallEvent(type: "e\(index)", actor: index % 3 == 0 ? nil : Self.bob, payload: payload, at: Self.t0 + Double(index / 10)),
                        to: "e1")
                }
                let events = try await store.events("e1")
                #expect(events.map(\.type) == ["initiated"] + (0..<40).map { "e\($0)" })
                #expect(events.dropFirst().map(\.payload) == payloads)
                #expect(events.dropFirst().map(\.actor) == (0..<40).map { $0 % 3 == 0 ? nil : Self.bob })
                #expect(zip(events, events.dropFirst()).allSatisfy { $0.id < $1.id })
                #expect(events.allSatisfy { $0.callId == "e1" })

                await #expect(throws: CallStoreError.notFound) {
                    try await store.append(NewCallEvent(type: "offer", actor: Self.bob, at: Self.t0), to: "missing")
                }
                await #expect(throws: CallStoreError.notFound) { try await store.events("missing") }
                let quiet = Self.call("e2")
                try await store.create(quiet, event: Self.initiated(quiet))
                #expect(try await store.events("e2").count == 1)
            }
        }
    }

    @Test(arguments: StoreBackend.available)
    func callsOfAUserByStatus(_ backend: StoreBackend) async throws {
        try await TestDatabase.with(backend) { database in
            try await database.withStore { store in
                for (index, id) in ["a", "b", "c", "d"].enumerated() {
                    let call = Self.call(id, at: Self.t0 + Double(index))
                    try await store.create(call, event: Self.initiated(call))
                }
                let elsewhere = Self.call("z", at: Self.t0 + 10, initiator: Self.carol, invitees: ["@dave:example.org"])
                try await store.create(elsewhere, event: Self.initiated(elsewhere))
                _ = try await store.transition(
                    "b", from: [.ringing], to: .active, at: Self.t0 + 5, reason: nil, participants: [],
                    event: NewCallEvent(type: "answered", actor: Self.bob, at: Self.t0 + 5))
                _ = try await store.transition(
                    "c", from: [.ringing], to: .ended, at: Self.t0 + 5, reason: nil, participants: [],
                    event: NewCallEvent(type: "ended", actor: Self.alice, at: Self.t0 + 5))

                #expect(try await store.calls(of: Self.bob, statuses: [.ringing, .active]).map(\.callId) == ["d", "b", "a"])
                #expect(try await store.calls(of: Self.alice, statuses: [.ended]).map(\.callId) == ["c"])
                #expect(try await store.calls(of: Self.alice, statuses: Set(CallStatus.allCases)).map(\.callId) == ["d", "c", "b", "a"])
                #expect(try await store.calls(of: Self.carol, statuses: [.ringing]).map(\.callId) == ["z"])
                #expect(try await store.calls(of: Self.alice, statuses: []).isEmpty)
                #expect(try await store.calls(of: "@nobody:example.org", statuses: [.ringing]).isEmpty)
                // Whole records, every participant, not only the user asked about.
                #expect(try await store.calls(of: Self.bob, statuses: [.active]).first?.participants.count == 2)
            }
        }
    }

    /// The page rule (HistoryPage): newest first by (createdAt, id); `before` is strict; a page
    /// never ends inside a group of calls created in the same millisecond, so a client that
    /// asks for the next page (before = the last createdAt shown) while a page has `limit`
    /// calls or more, and stops at a shorter one, sees every call once.
    @Test(arguments: StoreBackend.available)
    func historyPagesNeitherLoseNorRepeat(_ backend: StoreBackend) async throws {
        try await TestDatabase.with(backend) { database in
            try await database.withStore { store in
                // 30 calls in 14 distinct milliseconds: singles, pairs, triples, one group of 6.
                let groups = [1, 2, 1, 3, 1, 2, 6, 1, 3, 2, 1, 2, 4, 1]
                var expected: [(id: String, at: Date)] = []
                var serial = 0
                for (step, size) in groups.enumerated() {
                    let at = Self.t0 + Double(step) * 0.25
                    for _ in 0..<size {
                        let id = String(format: "h%02d", serial)
                        serial += 1
                        let call = Self.call(id, at: at)
                        try await store.create(call, event: Self.initiated(call))
                        expected.append((id, StoredTime.truncated(at)))
                    }
                }
                // Someone else's calls do not appear.
                let other = Self.call("other", at: Self.t0 + 2, initiator: Self.carol, invitees: [])
                try await store.create(other, event: Self.initiated(other))
                let newestFirst = expected.sorted { ($0.at, $0.id) > ($1.at, $1.id) }.map(\.id)

                #expect(try await store.history(of: Self.bob, limit: 100, before: nil).map(\.callId) == newestFirst)
                for limit in [1, 2, 3, 4, 5, 7, 30] {
                    var seen: [String] = []
                    var before: Date?
                    for _ in 0...30 {
                        let page = try await store.history(of: Self.bob, limit: limit, before: before)
                        seen += page.map(\.callId)
                        // Past the limit only to finish the millisecond the limit fell in.
                        if page.count > limit {
                            #expect(page.dropFirst(limit - 1).allSatisfy { $0.createdAt == page[limit - 1].createdAt })
                        }
                        guard page.count >= limit, let last = page.last else { break }
                        before = last.createdAt
                    }
                    #expect(seen == newestFirst, "limit \(limit)")
                }
                // `before` is strict, and a time inside no group cuts between groups.
                let cut = try await store.history(of: Self.bob, limit: 100, before: StoredTime.truncated(Self.t0 + 0.75))
                #expect(cut.map(\.callId) == ["h03", "h02", "h01", "h00"])
                #expect(try await store.history(of: Self.bob, limit: 0, before: nil).isEmpty)
                #expect(try await store.history(of: Self.bob, limit: 5, before: Self.t0).isEmpty)
            }
        }
    }

    @Test(arguments: StoreBackend.available)
    func ringingSweepFindsOnlyOldRingingCalls(_ backend: StoreBackend) async throws {
        try await TestDatabase.with(backend) { database in
            try await database.withStore { store in
                for (index, id) in ["r0", "r1", "r2", "r3"].enumerated() {
                    let call = Self.call(id, at: Self.t0 + Double(index * 30))
                    try await store.create(call, event: Self.initiated(call))
                }
                _ = try await store.transition(
                    "r1", from: [.ringing], to: .active, at: Self.t0 + 40, reason: nil, participants: [],
                    event: NewCallEvent(type: "answered", actor: Self.bob, at: Self.t0 + 40))
                let cutoff = Self.t0 + 60  // r2 was created exactly then: not before it.
                let due = try await store.ringing(createdBefore: cutoff)
                #expect(due.map(\.callId) == ["r0"])
                #expect(try await store.ringing(createdBefore: Self.t0 + 1000).map(\.callId) == ["r0", "r2", "r3"])
                #expect(try await store.ringing(createdBefore: Self.t0).isEmpty)
                #expect(due.first?.participants.count == 2)
            }
        }
    }

    @Test(arguments: StoreBackend.available)
    func activeSweepFindsOnlyCallsAnsweredBeforeTheCutoff(_ backend: StoreBackend) async throws {
        try await TestDatabase.with(backend) { database in
            try await database.withStore { store in
                // Created in one order, answered in another: the sweep goes by the answer.
                let answers: [(id: String, at: TimeInterval?)] = [("a0", 50), ("a1", 20), ("a2", 60), ("a3", nil), ("a4", 30)]
                for (index, call) in answers.enumerated() {
                    let record = Self.call(call.id, at: Self.t0 + Double(index), group: call.id == "a4")
                    try await store.create(record, event: Self.initiated(record))
                    guard let answered = call.at else { continue }
                    _ = try await store.transition(
                        call.id, from: [.ringing], to: .active, at: Self.t0 + answered, reason: nil,
                        participants: [ParticipantChange(user: Self.bob, status: .joined, joinedAt: Self.t0 + answered)],
                        event: NewCallEvent(type: "answered", actor: Self.bob, at: Self.t0 + answered))
                }
                _ = try await store.transition(
                    "a1", from: [.active], to: .ended, at: Self.t0 + 40, reason: "hangup", participants: [],
                    event: NewCallEvent(type: "ended", actor: Self.alice, at: Self.t0 + 40))
                let cutoff = Self.t0 + 60  // a2 was answered exactly then: not before it.
                let due = try await store.active(answeredBefore: cutoff)
                #expect(due.map(\.callId) == ["a4", "a0"])  // a1 is over, a3 still rings
                #expect(due.allSatisfy { $0.status == .active })
                #expect(due.first?.isGroupCall == true)
                #expect(due.first?.participants.map(\.status) == [.joined, .joined])
                #expect(try await store.active(answeredBefore: Self.t0 + 1000).map(\.callId) == ["a4", "a0", "a2"])
                #expect(try await store.active(answeredBefore: Self.t0 + 30).isEmpty)
                try await store.ping()
            }
        }
    }

    @Test(arguments: StoreBackend.available)
    func everythingSurvivesARestart(_ backend: StoreBackend) async throws {
        try await TestDatabase.with(backend) { database in
            let before = try await database.withStore { store in
                var records: [CallRecord] = []
                for index in 0..<5 {
                    let call = Self.call("s\(index)", at: Self.t0 + Double(index))
                    try await store.create(call, event: Self.initiated(call))
                }
                _ = try await store.transition(
                    "s1", from: [.ringing], to: .active, at: Self.t0 + 10, reason: nil,
                    participants: [ParticipantChange(user: Self.bob, status: .joined, joinedAt: Self.t0 + 10)],
                    event: NewCallEvent(type: "answered", actor: Self.bob, at: Self.t0 + 10))
                _ = try await store.transition(
                    "s2", from: [.ringing], to: .rejected, at: Self.t0 + 11, reason: "busy", participants: [],
                    event: NewCallEvent(type: "rejected", actor: Self.bob, at: Self.t0 + 11))
                try await store.append(NewCallEvent(type: "offer", actor: Self.alice, payload: #"{"sdp":"v=0"}"#, at: Self.t0 + 12), to: "s1")
                for index in 0..<5 { records.append(try #require(try await store.call("s\(index)"))) }
                return records
            }
            // A new store on the same database: migrations are not applied again, all is there.
            #expect(try await Migrator.migrate(database.url, logger: TestDatabase.logger).isEmpty)
            try await database.withStore { store in
                for record in before {
                    #expect(try await store.call(record.callId) == record)
                }
                #expect(try await store.events("s1").map(\.type) == ["initiated", "answered", "offer"])
                #expect(try await store.events("s1").last?.payload == #"{"sdp":"v=0"}"#)
                #expect(try await store.history(of: Self.bob, limit: 10, before: nil).map(\.callId) == ["s4", "s3", "s2", "s1", "s0"])
                #expect(try await store.calls(of: Self.alice, statuses: [.active]).map(\.callId) == ["s1"])
                #expect(try await store.ringing(createdBefore: Self.t0 + 100).map(\.callId) == ["s0", "s3", "s4"])
                // And it keeps working: ids continue after the old ones.
                try await store.append(NewCallEvent(type: "ice-candidate", actor: Self.bob, at: Self.t0 + 20), to: "s1")
                let events = try await store.events("s1")
                #expect(events.map(\.type) == ["initiated", "answered", "offer", "ice-candidate"])
                #expect(zip(events, events.dropFirst()).allSatisfy { $0.id < $1.id })
            }
        }
    }

    /// 200 calls created at once, then two answers racing for each: exactly one wins per call.
    @Test(arguments: StoreBackend.available)
    func concurrentAnswersHaveOneWinner(_ backend: StoreBackend) async throws {
        let count = 200
        try await TestDatabase.with(backend) { database in
            try await database.withStore { store in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<count {
                        group.addTask {
                            let call = Self.call("race-\(index)", at: Self.t0 + Double(index) / 1000)
                            try await store.create(call, event: Self.initiated(call))
                        }
                    }
                    try await group.waitForAll()
                }
                let outcomes = try await withThrowingTaskGroup(of: (String, Int, CallStatus?).self) { group in
                    for index in 0..<count {
                        for answerer in 0..<2 {
                            group.addTask {
                                let id = "race-\(index)"
                                do {
                                    _ = try await store.transition(
                                        id, from: [.ringing], to: .active, at: Self.t0 + 60, reason: nil,
                                        participants: [ParticipantChange(user: Self.bob, status: .joined, audioEnabled: answerer == 0)],
                                        event: NewCallEvent(type: "answered", actor: Self.bob, payload: #"{"answerer":\#(answerer)}"#, at: Self.t0 + 60))
                                    return (id, answerer, nil)
                                } catch CallStoreError.conflict(let current) {
                                    return (id, answerer, current)
                                }
                            }
                        }
                    }
                    var outcomes: [(String, Int, CallStatus?)] = []
                    for try await outcome in group { outcomes.append(outcome) }
                    return outcomes
                }
                let winners = Dictionary(grouping: outcomes.filter { $0.2 == nil }, by: \.0)
                #expect(winners.count == count)
                #expect(winners.values.allSatisfy { $0.count == 1 })
                #expect(outcomes.filter { $0.2 == .active }.count == count)

                let active = try await store.calls(of: Self.bob, statuses: [.active])
                #expect(active.count == count)
                var eventCount = 0
                for index in 0..<count {
                    let id = "race-\(index)"
                    let events = try await store.events(id)
                    eventCount += events.count
                    #expect(events.map(\.type) == ["initiated", "answered"], "\(id)")
                    // The stored side effects are the winner's, none of the loser's.
                    let winner = try #require(winners[id]?.first?.1)
                    #expect(events.last?.payload == #"{"answerer":\#(winner)}"#)
                    #expect(active.first { $0.callId == id }?.participant(Self.bob)?.audioEnabled == (winner == 0))
                }
                #expect(eventCount == 2 * count)
            }
        }
    }

    /// A group call joined by 30 users at once while candidates are relayed: every join lands
    /// once, after the original participants, and no event is lost.
    @Test(arguments: StoreBackend.available)
    func concurrentJoinsAllLand(_ backend: StoreBackend) async throws {
        try await TestDatabase.with(backend) { database in
            try await database.withStore { store in
                let call = Self.call("g1", group: true)
                try await store.create(call, event: Self.initiated(call))
                let joiners = (0..<30).map { "@user\($0):example.org" }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for (index, user) in joiners.enumerated() {
                        group.addTask {
                            _ = try await store.updateParticipants(
                                "g1", changes: [ParticipantChange(user: user, status: .joined, joinedAt: Self.t0 + 1, addAs: .invitee)],
                                event: NewCallEvent(type: "joined", actor: user, at: Self.t0 + 1))
                        }
                        group.addTask {
                            try await store.append(
                                NewCallEvent(type: "ice-candidate", actor: user, payload: #"{"n":\#(index)}"#, at: Self.t0 + 1), to: "g1")
                        }
                    }
                    try await group.waitForAll()
                }
                let stored = try #require(try await store.call("g1"))
                #expect(stored.participants.count == 2 + joiners.count)
                #expect(stored.participants.prefix(2).map(\.user) == [Self.alice, Self.bob])
                #expect(Set(stored.participants.dropFirst(2).map(\.user)) == Set(joiners))
                #expect(stored.participants.dropFirst(2).allSatisfy { $0.status == .joined && $0.role == .invitee && $0.videoEnabled })
                let events = try await store.events("g1")
                #expect(events.count == 1 + 2 * joiners.count)
                // Joins were added in the order their events were written.
                #expect(events.filter { $0.type == "joined" }.compactMap(\.actor) == stored.participants.dropFirst(2).map(\.user))
            }
        }
    }

    @Test(arguments: StoreBackend.available)
    func textIsBoundNeverSpliced(_ backend: StoreBackend) async throws {
        try await TestDatabase.with(backend) { database in
            try await database.withStore { store in
                let nasty = [
                    "'; DROP TABLE call_sessions; --",
                    #"x" OR "1"="1"#,
                    "ロビー 🎧 \"quoted\" 'single' \\back\\slash",
                    "%_ wildcards _% and $1 ?",
                    "e\u{301}t\u{E9} \u{202E}rtl\u{202C} 👩‍👩‍👧",
                ]
                for (index, text) in nasty.enumerated() {
                    let user = "@\(text):example.org"
                    let call = Self.call(text, at: Self.t0 + Double(index), room: "!\(text)", initiator: user, invitees: [Self.bob])
                    let event = NewCallEvent(type: "initiated", actor: user, payload: #"{"note":"\#(text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\""))"}"#, at: call.createdAt)
                    try await store.create(call, event: event)
                    #expect(try await store.call(text) == Self.stored(call))
                    #expect(try await store.events(text).first?.payload == event.payload)
                    #expect(try await store.calls(of: user, statuses: [.ringing]).map(\.callId) == [text])
                    let ended = try await store.transition(
                        text, from: [.ringing], to: .ended, at: Self.t0 + 100, reason: text,
                        participants: [ParticipantChange(user: user, status: .left)],
                        event: NewCallEvent(type: text, actor: user, payload: text, at: Self.t0 + 100))
                    #expect(ended.endReason == text)
                    #expect(try await store.events(text).last?.type == text)
                }
                // "e\u{301}" and "\u{E9}" are equal Strings to Swift but different bytes; ids are
                // stored and compared as bytes, unnormalized.
                let decomposed = try #require(try await store.call(nasty[4]))
                #expect(Array(decomposed.callId.unicodeScalars) == Array(nasty[4].unicodeScalars))
                #expect(try await store.call("\u{E9}t\u{E9} \u{202E}rtl\u{202C} 👩‍👩‍👧") == nil)
                #expect(try await store.call("%") == nil)
                #expect(try await store.history(of: Self.bob, limit: 10, before: nil).count == nasty.count)
                // The tables are all still there and work.
                let plain = Self.call("after")
                try await store.create(plain, event: Self.initiated(plain))
                #expect(try await store.history(of: Self.bob, limit: 10, before: nil).count == nasty.count + 1)
            }
        }
    }
}
