// The zero-setup CallStore: one SQLite file (WAL), one connection. Every operation runs alone
// on that connection (TransactionGate), and a change runs inside BEGIN IMMEDIATE…COMMIT, so a
// transition's read-compare-update-append cannot interleave with another's, in this process or
// (through SQLite's write lock) in another one.

import Logging
import SQLiteNIO

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

public final class SQLiteCallStore: CallStore {
    private let storage: SQLiteStorage
    private var connection: SQLiteConnection { storage.connection }
    private let gate = TransactionGate()
    private let logger: Logger

    private init(storage: SQLiteStorage, logger: Logger) {
        self.storage = storage
        self.logger = logger
    }

    /// Opens (creating if needed) the database at `path` (`:memory:` for a private in-memory
    /// one) and applies pending migrations on the same connection.
    public static func open(path: String, logger: Logger) async throws -> SQLiteCallStore {
        let storage = try await SQLiteStorage.open(path, logger: logger)
        do {
            try await Migrator.migrate(sqlite: storage.connection, logger: logger)
        } catch {
            try? await storage.close()
            throw error
        }
        return SQLiteCallStore(storage: storage, logger: logger)
    }

    public func close() async throws {
        try await gate.exclusive { try await storage.close() }
    }

    // MARK: Changes

    public func create(_ call: CallRecord, event: NewCallEvent) async throws {
        try await transaction { db in
            let created = StoredTime.milliseconds(call.createdAt)
            let inserted = try await db.query(
                """
                INSERT INTO call_sessions (id, room_id, call_type, is_group_call, initiator, status, created_at,
                    answered_at, ended_at, end_reason)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING RETURNING id
                """,
                [
                    .text(call.callId), .text(call.roomId), .text(call.callType.rawValue), .bool(call.isGroupCall),
                    .text(call.initiator), .text(call.status.rawValue), .integer(Int(created)),
                    .time(call.answeredAt), .time(call.endedAt), .optional(call.endReason),
                ])
            guard !inserted.isEmpty else { throw CallStoreError.duplicate }
            for (position, participant) in call.participants.enumerated() {
                try await insert(participant, position: position, callId: call.callId, callCreatedAt: created, db)
            }
            try await insert(event, callId: call.callId, db)
        }
    }

    public func transition(
        _ id: String, from: Set<CallStatus>, to: CallStatus, at: Date, reason: String?,
        participants: [ParticipantChange], event: NewCallEvent
    ) async throws -> CallRecord {
        try await transaction { db in
            let stamp = CallStatusStamp(to: to, at: at)
            let fromList = from.map(\.rawValue).sorted()
            // The status test is in the UPDATE itself: no row means "not in `from`" (or absent).
            let updated = try await db.query(
                """
                UPDATE call_sessions SET status = ?, answered_at = COALESCE(?, answered_at),
                    ended_at = COALESCE(?, ended_at), end_reason = CASE WHEN ? THEN ? ELSE end_reason END
                WHERE id = ? AND status IN (\(placeholders(fromList.count)))
                RETURNING call_type
                """,
                [
                    .text(to.rawValue), .time(stamp.answeredAt), .time(stamp.endedAt), .bool(stamp.endedAt != nil),
                    .optional(reason), .text(id),
                ] + fromList.map(SQLiteData.text))
            guard let row = updated.first else {
                let current = try await db.query("SELECT status FROM call_sessions WHERE id = ?", [.text(id)])
                guard let status = current.first?.column("status")?.string.flatMap(CallStatus.init(rawValue:)) else {
                    throw CallStoreError.notFound
                }
                throw CallStoreError.conflict(current: status)
            }
            let callType = row.column("call_type")?.string.flatMap(CallType.init(rawValue:)) ?? .voice
            for change in participants {
                try await apply(change, callId: id, callType: callType, db)
            }
            try await insert(event, callId: id, db)
            return try await read(id, db)
        }
    }

    public func updateParticipants(_ id: String, changes: [ParticipantChange], event: NewCallEvent) async throws
        -> CallRecord
    {
        try await transaction { db in
            let rows = try await db.query("SELECT call_type FROM call_sessions WHERE id = ?", [.text(id)])
            guard let row = rows.first else { throw CallStoreError.notFound }
            let callType = row.column("call_type")?.string.flatMap(CallType.init(rawValue:)) ?? .voice
            for change in changes {
                try await apply(change, callId: id, callType: callType, db)
            }
            try await insert(event, callId: id, db)
            return try await read(id, db)
        }
    }

    public func append(_ event: NewCallEvent, to id: String) async throws {
        try await transaction { db in try await insert(event, callId: id, db) }
    }

    // MARK: Reads

    public func call(_ id: String) async throws -> CallRecord? {
        try await gate.exclusive {
            let rows = try await connection.query(
                "\(Self.selectCalls) FROM call_sessions s LEFT JOIN call_participants p ON p.call_id = s.id WHERE s.id = ? ORDER BY p.position",
                [.text(id)])
            return try CallRows.records(rows.map(Self.decode)).first
        }
    }

    public func events(_ id: String) async throws -> [CallEvent] {
        try await gate.exclusive {
            // The LEFT JOIN tells "no such call" (no row) from "no events yet" (a row of NULLs).
            let rows = try await connection.query(
                """
                SELECT e.id, e.type, e.actor, e.payload, e.created_at
                FROM call_sessions s LEFT JOIN call_events e ON e.call_id = s.id WHERE s.id = ? ORDER BY e.id
                """,
                [.text(id)])
            guard !rows.isEmpty else { throw CallStoreError.notFound }
            return rows.compactMap { row -> CallEvent? in
                guard let eventId = row.column("id")?.integer, let type = row.column("type")?.string,
                    let created = row.column("created_at")?.integer
                else { return nil }
                return CallEvent(
                    id: Int64(eventId), callId: id, type: type, actor: row.column("actor")?.string,
                    payload: row.column("payload")?.string, createdAt: StoredTime.date(Int64(created)))
            }
        }
    }

    public func calls(of user: String, statuses: Set<CallStatus>) async throws -> [CallRecord] {
        guard !statuses.isEmpty else { return [] }
        let list = statuses.map(\.rawValue).sorted()
        return try await calls(
            """
            WITH page AS (
                SELECT s.id FROM call_participants me JOIN call_sessions s ON s.id = me.call_id
                WHERE me.user_id = ? AND s.status IN (\(placeholders(list.count))))
            \(Self.selectCalls) FROM page JOIN call_sessions s ON s.id = page.id
            LEFT JOIN call_participants p ON p.call_id = s.id
            ORDER BY s.created_at DESC, s.id DESC, p.position
            """,
            [.text(user)] + list.map(SQLiteData.text))
    }

    public func history(of user: String, limit: Int, before: Date?) async throws -> [CallRecord] {
        guard limit > 0 else { return [] }
        let bound = before.map(StoredTime.milliseconds) ?? Int64.max
        let fetched = try await calls(
            """
            WITH page AS (
                SELECT call_id FROM call_participants WHERE user_id = ? AND call_created_at < ?
                ORDER BY call_created_at DESC, call_id DESC LIMIT ?)
            \(Self.selectCalls) FROM page JOIN call_sessions s ON s.id = page.call_id
            LEFT JOIN call_participants p ON p.call_id = s.id
            ORDER BY s.created_at DESC, s.id DESC, p.position
            """,
            [.text(user), .integer(Int(bound)), .integer(limit + 1)])
        let (page, wholeGroup) = HistoryPage.cut(fetched, limit: limit)
        guard let wholeGroup else { return page }
        return try await page + calls(
            """
            WITH page AS (SELECT call_id FROM call_participants WHERE user_id = ? AND call_created_at = ?)
            \(Self.selectCalls) FROM page JOIN call_sessions s ON s.id = page.call_id
            LEFT JOIN call_participants p ON p.call_id = s.id
            ORDER BY s.created_at DESC, s.id DESC, p.position
            """,
            [.text(user), .integer(Int(StoredTime.milliseconds(wholeGroup)))])
    }

    public func ringing(createdBefore cutoff: Date) async throws -> [CallRecord] {
        try await calls(.ringing, before: cutoff, by: .createdAt)
    }

    public func active(answeredBefore cutoff: Date) async throws -> [CallRecord] {
        try await calls(.active, before: cutoff, by: .answeredAt)
    }

    /// The sweeps' query: calls in `status` whose `time` is before `cutoff`, oldest first. The
    /// (status, created_at) index finds them; ringing and active calls are few next to history.
    private func calls(_ status: CallStatus, before cutoff: Date, by time: SweepTime) async throws -> [CallRecord] {
        try await calls(
            """
            WITH page AS (SELECT id FROM call_sessions WHERE status = ? AND \(time.rawValue) < ?)
            \(Self.selectCalls) FROM page JOIN call_sessions s ON s.id = page.id
            LEFT JOIN call_participants p ON p.call_id = s.id
            ORDER BY s.\(time.rawValue), s.id, p.position
            """,
            [.text(status.rawValue), .integer(Int(StoredTime.milliseconds(cutoff)))])
    }

    public func ping() async throws {
        _ = try await gate.exclusive { try await connection.query("SELECT 1", []).count }
    }

    // MARK: Statements

    private func transaction<T: Sendable>(_ body: @Sendable (SQLiteConnection) async throws -> T) async throws -> T {
        try await gate.exclusive {
            // IMMEDIATE: take the write lock now, so that what the body reads cannot change
            // under it (another process would otherwise upgrade its lock first).
            do {
                _ = try await connection.query("BEGIN IMMEDIATE", [])
            } catch {
                throw Self.unwritable(error) ?? error
            }
            do {
                let result = try await body(connection)
                _ = try await connection.query("COMMIT", [])
                return result
            } catch {
                do {
                    _ = try await connection.query("ROLLBACK", [])
                } catch let rollback {
                    // After a full disk or an I/O error SQLite may have rolled back already
                    // (sqlite.org/lang_transaction.html, "Response To Errors Within A
                    // Transaction"), and then ROLLBACK finds no transaction: not news.
                    if Self.unwritable(error) == nil { logger.error("ROLLBACK failed: \(rollback)") }
                }
                throw Self.unwritable(error) ?? error
            }
        }
    }

    /// SQLite's answers that mean the file cannot be written, whatever the statement: told
    /// apart from a conflict or a bug so that the client gets a clear 503 and the log the cause.
    static func unwritable(_ error: any Error) -> CallStoreError? {
        guard let error = error as? SQLiteError else { return nil }
        let cause: String
        switch error.reason {
        case .full: cause = "the disk holding it is full"
        case .readOnly, .readonlyCantLock, .readonlyDirectory, .readonlyInRecovery, .readonlyInRollback, .readonlyBackingMoved:
            cause = "its file or folder is read-only"
        case .cantOpen, .cantOpenDirectory, .permission:
            cause = "its file cannot be opened for writing"
        case .ioError, .ioErrorFailedWrite, .ioErrorFailedSync, .ioErrorFailedDirSync, .ioErrorFailedTruncate,
            .ioErrorFailedSharedMemOpen, .ioErrorFailedSharedMemSize, .ioErrorFailedSharedMemMap, .ioErrorFailedAccess,
            .ioErrorFailedDelete, .ioErrorFailedRead, .ioErrorIncompleteRead:
            cause = "its storage fails (I/O error)"
        default: return nil
        }
        return .unwritable("\(cause): \(error.message)")
    }

    private func calls(_ sql: String, _ binds: [SQLiteData]) async throws -> [CallRecord] {
        try await gate.exclusive {
            CallRows.records(try await connection.query(sql, binds).map(Self.decode))
        }
    }

    private func read(_ id: String, _ db: SQLiteConnection) async throws -> CallRecord {
        let rows = try await db.query(
            "\(Self.selectCalls) FROM call_sessions s LEFT JOIN call_participants p ON p.call_id = s.id WHERE s.id = ? ORDER BY p.position",
            [.text(id)])
        guard let record = CallRows.records(try rows.map(Self.decode)).first else { throw CallStoreError.notFound }
        return record
    }

    private func insert(
        _ participant: CallParticipant, position: Int, callId: String, callCreatedAt: Int64, _ db: SQLiteConnection
    ) async throws {
        _ = try await db.query(
            """
            INSERT INTO call_participants (call_id, user_id, role, status, audio_enabled, video_enabled, joined_at,
                left_at, position, call_created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .text(callId), .text(participant.user), .text(participant.role.rawValue),
                .text(participant.status.rawValue), .bool(participant.audioEnabled), .bool(participant.videoEnabled),
                .time(participant.joinedAt), .time(participant.leftAt), .integer(position),
                .integer(Int(callCreatedAt)),
            ])
    }

    private func apply(_ change: ParticipantChange, callId: String, callType: CallType, _ db: SQLiteConnection)
        async throws
    {
        let updated = try await db.query(
            """
            UPDATE call_participants SET status = COALESCE(?, status), audio_enabled = COALESCE(?, audio_enabled),
                video_enabled = COALESCE(?, video_enabled), joined_at = COALESCE(?, joined_at),
                left_at = COALESCE(?, left_at)
            WHERE call_id = ? AND user_id = ? RETURNING user_id
            """,
            [
                .optional(change.status?.rawValue), .optionalBool(change.audioEnabled),
                .optionalBool(change.videoEnabled), .time(change.joinedAt), .time(change.leftAt), .text(callId),
                .text(change.user),
            ])
        guard updated.isEmpty else { return }
        guard let role = change.addAs else { throw CallStoreError.notParticipant }
        let participant = ParticipantChange.newParticipant(change, role: role, callType: callType)
        _ = try await db.query(
            """
            INSERT INTO call_participants (call_id, user_id, role, status, audio_enabled, video_enabled, joined_at,
                left_at, position, call_created_at)
            SELECT s.id, ?, ?, ?, ?, ?, ?, ?,
                (SELECT COALESCE(MAX(position), -1) + 1 FROM call_participants WHERE call_id = s.id), s.created_at
            FROM call_sessions s WHERE s.id = ?
            """,
            [
                .text(participant.user), .text(participant.role.rawValue), .text(participant.status.rawValue),
                .bool(participant.audioEnabled), .bool(participant.videoEnabled), .time(participant.joinedAt),
                .time(participant.leftAt), .text(callId),
            ])
    }

    private func insert(_ event: NewCallEvent, callId: String, _ db: SQLiteConnection) async throws {
        // Inserting from the session row makes "no such call" an empty result, not an FK error.
        let inserted = try await db.query(
            """
            INSERT INTO call_events (call_id, type, actor, payload, created_at)
            SELECT id, ?, ?, ?, ? FROM call_sessions WHERE id = ? RETURNING id
            """,
            [.text(event.type), .optional(event.actor), .optional(event.payload), .time(event.at), .text(callId)])
        guard !inserted.isEmpty else { throw CallStoreError.notFound }
    }

    private func placeholders(_ count: Int) -> String {
        Array(repeating: "?", count: count).joined(separator: ", ")
    }

    private static let selectCalls = """
        SELECT s.id, s.room_id, s.call_type, s.is_group_call, s.initiator, s.status, s.created_at, s.answered_at,
            s.ended_at, s.end_reason, p.user_id, p.role, p.status AS participant_status, p.audio_enabled,
            p.video_enabled, p.joined_at, p.left_at
        """

    private static func decode(_ row: SQLiteRow) throws -> CallRow {
        func text(_ name: String) throws -> String {
            guard let value = row.column(name)?.string else { throw CallStoreRowError.missing(name) }
            return value
        }
        func integer(_ name: String) -> Int64? {
            guard let data = row.column(name), !data.isNull else { return nil }
            return data.integer.map(Int64.init)
        }
        func value<T: RawRepresentable>(_ name: String) throws -> T where T.RawValue == String {
            let raw = try text(name)
            guard let value = T(rawValue: raw) else { throw CallStoreRowError.unknownValue(name, raw) }
            return value
        }
        var participant: CallParticipant?
        if let user = row.column("user_id")?.string {
            participant = CallParticipant(
                user: user, role: try value("role"), status: try value("participant_status"),
                audioEnabled: CallRows.bool(integer("audio_enabled")) ?? true,
                videoEnabled: CallRows.bool(integer("video_enabled")) ?? false,
                joinedAt: integer("joined_at").map(StoredTime.date), leftAt: integer("left_at").map(StoredTime.date))
        }
        guard let created = integer("created_at") else { throw CallStoreRowError.missing("created_at") }
        return CallRow(
            callId: try text("id"), roomId: try text("room_id"), callType: try value("call_type"),
            isGroupCall: CallRows.bool(integer("is_group_call")) ?? false, initiator: try text("initiator"),
            status: try value("status"), createdAt: created, answeredAt: integer("answered_at"),
            endedAt: integer("ended_at"), endReason: row.column("end_reason")?.string, participant: participant)
    }
}

extension SQLiteData {
    fileprivate static func bool(_ value: Bool) -> SQLiteData { .integer(value ? 1 : 0) }
    fileprivate static func optionalBool(_ value: Bool?) -> SQLiteData { value.map(bool) ?? .null }
    fileprivate static func optional(_ value: String?) -> SQLiteData { value.map(SQLiteData.text) ?? .null }
    fileprivate static func time(_ value: Date?) -> SQLiteData {
        value.map { .integer(Int(StoredTime.milliseconds($0))) } ?? .null
    }
}
