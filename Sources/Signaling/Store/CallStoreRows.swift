// What both CallStore backends share once a row is decoded: times as whole milliseconds,
// joined session/participant rows folded into CallRecords, and the history page rule.

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Times are stored as whole milliseconds since 1970 (UTC) in both databases, so a record reads
/// back equal on either backend and a `createdAt` echoed by a client (JSON with milliseconds)
/// is exactly the value stored.
enum StoredTime {
    static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
    }

    static func date(_ milliseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }

    /// `date` as it reads back from the store.
    static func truncated(_ date: Date) -> Date {
        Self.date(milliseconds(date))
    }
}

/// One row of `call_sessions LEFT JOIN call_participants`, already decoded.
struct CallRow {
    var callId: String
    var roomId: String
    var callType: CallType
    var isGroupCall: Bool
    var initiator: String
    var status: CallStatus
    var createdAt: Int64
    var answeredAt: Int64?
    var endedAt: Int64?
    var endReason: String?
    /// nil when the call has no participant row (never written by this store, but a LEFT JOIN).
    var participant: CallParticipant?
}

enum CallRows {
    /// Folds rows ordered by call (then participant position) into records, keeping that order.
    static func records(_ rows: [CallRow]) -> [CallRecord] {
        var records: [CallRecord] = []
        for row in rows {
            if records.last?.callId != row.callId {
                records.append(
                    CallRecord(
                        callId: row.callId, roomId: row.roomId, callType: row.callType, isGroupCall: row.isGroupCall,
                        initiator: row.initiator, status: row.status, createdAt: StoredTime.date(row.createdAt),
                        answeredAt: row.answeredAt.map(StoredTime.date), endedAt: row.endedAt.map(StoredTime.date),
                        endReason: row.endReason, participants: []))
            }
            if let participant = row.participant {
                records[records.count - 1].participants.append(participant)
            }
        }
        return records
    }

    static func bool(_ value: Int64?) -> Bool? { value.map { $0 != 0 } }
}

/// The history page rule. `before` is a time, not a (time, id) cursor, because that is what
/// clients send (`?before=<createdAt of the last call shown>`); so that calls created in the
/// same millisecond are neither lost nor repeated, a page never ends inside such a group: when
/// `limit` falls inside one, the page grows to take all of it. Hence a page of `limit` calls or
/// more may have a next page, and a shorter one is the last.
enum HistoryPage {
    /// `newestFirst` holds up to `limit + 1` calls (the one past the page tells whether the
    /// page would split a group). Returns the page, or the calls newer than the group that the
    /// limit splits plus that group's time: the caller appends every call of that millisecond.
    static func cut(_ newestFirst: [CallRecord], limit: Int) -> (page: [CallRecord], wholeGroup: Date?) {
        guard limit > 0 else { return ([], nil) }
        guard newestFirst.count > limit else { return (newestFirst, nil) }
        let boundary = newestFirst[limit].createdAt
        guard newestFirst[limit - 1].createdAt == boundary else {
            return (Array(newestFirst.prefix(limit)), nil)
        }
        return (newestFirst.prefix(limit).filter { $0.createdAt != boundary }, boundary)
    }
}

/// A stored row the store cannot read back (written by something else, or a newer schema).
enum CallStoreRowError: Error, CustomStringConvertible {
    case missing(String)
    case unknownValue(String, String)

    var description: String {
        switch self {
        case .missing(let column): "call row without \(column)"
        case .unknownValue(let column, let value): "call row with unknown \(column) \"\(value)\""
        }
    }
}

/// The time columns a transition to `to` stamps (the CallStore.transition contract).
struct CallStatusStamp {
    var answeredAt: Date?
    var endedAt: Date?

    init(to: CallStatus, at: Date) {
        switch to {
        case .active: answeredAt = at
        case .ended, .rejected, .missed: endedAt = at
        case .ringing: break
        }
    }
}

extension ParticipantChange {
    /// The row a change with `addAs` inserts for a user not yet in the call: unset fields take
    /// the defaults of someone joining (invited until told otherwise, audio on, video as the call).
    static func newParticipant(_ change: ParticipantChange, role: ParticipantRole, callType: CallType) -> CallParticipant {
        CallParticipant(
            user: change.user, role: role, status: change.status ?? .invited,
            audioEnabled: change.audioEnabled ?? true, videoEnabled: change.videoEnabled ?? (callType == .video),
            joinedAt: change.joinedAt, leftAt: change.leftAt)
    }
}

/// The time column a sweep compares with its cutoff; a column name, so never user input.
enum SweepTime: String {
    case createdAt = "created_at"
    case answeredAt = "answered_at"
}
