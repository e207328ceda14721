// The production CallStore: PostgreSQL through a PostgresNIO connection pool. A transition is
// `UPDATE … WHERE id = $1 AND status = ANY($2) RETURNING …` inside a transaction: the row lock
// the UPDATE takes makes a concurrent transition wait, and under READ COMMITTED the waiter then
// re-checks the status of the row as committed, matches nothing and reports the conflict.

import Logging
import PostgresNIO
import ServiceLifecycle

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Times cross the wire as whole milliseconds (int8) and are converted in SQL, exactly, by
/// `timestamptz 'epoch' + ms * interval '1 millisecond'` and `(extract(epoch FROM t) * 1000)::int8`
/// (PostgreSQL 14+ `extract` is numeric, so no float rounding either way).
public final class PostgresCallStore: CallStore, Service {
    /// How long the store waits on PostgreSQL. Without these a request made while the database
    /// is down waits for the pool to reconnect (PostgresNIO fails waiting requests only after
    /// 60 s of failed attempts) and a query to a server that stopped answering waits for TCP.
    public struct Timeouts: Sendable, Equatable {
        /// Opening one connection's socket (PostgresNIO's default: 10 s). A refused connection
        /// fails at once; this bounds an address that drops packets.
        public var connect: Duration
        /// One store operation, from asking the pool for a connection to its last statement
        /// (COMMIT included): the longest a request waits before its 503. Calls change a few
        /// rows, so a healthy database answers in milliseconds, even with every pooled
        /// connection busy.
        public var operation: Duration

        public init(connect: Duration = .seconds(5), operation: Duration = .seconds(5)) {
            self.connect = connect
            self.operation = operation
        }
    }

    private let client: PostgresClient
    private let timeouts: Timeouts
    private let logger: Logger
    private let stop: AsyncStream<Void>
    private let stopContinuation: AsyncStream<Void>.Continuation
    private let running: AsyncStream<Void>
    private let runningContinuation: AsyncStream<Void>.Continuation

    /// The pool hands out connections only while `run()` runs: run it in the server's
    /// ServiceGroup (this is a Service) or in a task. Migrations are not applied here
    /// (`CallStores.open` does that).
    public init(configuration: PostgresClient.Configuration, timeouts: Timeouts = Timeouts(), logger: Logger) {
        var configuration = configuration
        configuration.options.connectTimeout = timeouts.connect
        self.client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.timeouts = timeouts
        self.logger = logger
        (stop, stopContinuation) = AsyncStream.makeStream(of: Void.self)
        (running, runningContinuation) = AsyncStream.makeStream(of: Void.self)
    }

    /// `url` as `DatabaseURL.postgres` holds it: `postgres://user:password@host:port/database`.
    public convenience init(url: String, timeouts: Timeouts = Timeouts(), logger: Logger) throws {
        self.init(configuration: try PostgresURL.configuration(url), timeouts: timeouts, logger: logger)
    }

    /// Runs the connection pool until `close()`, cancellation or graceful shutdown.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                self.runningContinuation.finish()
                await self.client.run()
            }
            group.addTask { for await _ in self.stop {} }
            await group.next()
            group.cancelAll()
        }
    }

    /// Returns once `run()` has started (or at once after it has): leasing before that works,
    /// but PostgresNIO logs a warning for it.
    func untilRunning() async {
        for await _ in running {}
    }

    /// Stops `run()`, which closes the pool's connections.
    public func close() async throws {
        stopContinuation.finish()
    }

    // MARK: Changes

    public func create(_ call: CallRecord, event: NewCallEvent) async throws {
        try await transaction { [self] db in
            let created = StoredTime.milliseconds(call.createdAt)
            let answered = call.answeredAt.map(StoredTime.milliseconds)
            let ended = call.endedAt.map(StoredTime.milliseconds)
            let inserted = try await db.query(
                """
                INSERT INTO call_sessions (id, room_id, call_type, is_group_call, initiator, status, created_at,
                    answered_at, ended_at, end_reason)
                VALUES (\(call.callId), \(call.roomId), \(call.callType.rawValue), \(call.isGroupCall),
                    \(call.initiator), \(call.status.rawValue), timestamptz 'epoch' + \(created) * interval '1 ms',
                    timestamptz 'epoch' + \(answered) * interval '1 ms', timestamptz 'epoch' + \(ended) * interval '1 ms',
                    \(call.endReason))
                ON CONFLICT (id) DO NOTHING RETURNING id
                """, logger: logger
            ).collect()
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
        try await transaction { [self] db in
            let stamp = CallStatusStamp(to: to, at: at)
            let answered = stamp.answeredAt.map(StoredTime.milliseconds)
            let ended = stamp.endedAt.map(StoredTime.milliseconds)
            let fromList = from.map(\.rawValue).sorted()
            let updated = try await db.query(
                """
                UPDATE call_sessions SET status = \(to.rawValue),
                    answered_at = COALESCE(timestamptz 'epoch' + \(answered) * interval '1 ms', answered_at),
                    ended_at = COALESCE(timestamptz 'epoch' + \(ended) * interval '1 ms', ended_at),
                    end_reason = CASE WHEN \(ended != nil) THEN \(reason) ELSE end_reason END
                WHERE id = \(id) AND status = ANY(\(fromList))
                RETURNING call_type
                """, logger: logger
            ).collect()
            guard let row = updated.first else {
                let current = try await db.query(
                    "SELECT status FROM call_sessions WHERE id = \(id)", logger: logger
                ).collect()
                guard let raw = try current.first?.decode(String.self), let status = CallStatus(rawValue: raw) else {
                    throw CallStoreError.notFound
                }
                throw CallStoreError.conflict(current: status)
            }
            let callType = CallType(rawValue: try row.decode(String.self)) ?? .voice
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
        try await transaction { [self] db in
            // The row lock makes concurrent changes to one call's participants (and transitions,
            // whose UPDATE takes the same lock) take turns, so positions of added users stay
            // distinct and each change sees the one before it. NO KEY: appends, whose foreign
            // key check only needs KEY SHARE, are not held up.
            let rows = try await db.query(
                "SELECT call_type FROM call_sessions WHERE id = \(id) FOR NO KEY UPDATE", logger: logger
            ).collect()
            guard let row = rows.first else { throw CallStoreError.notFound }
            let callType = CallType(rawValue: try row.decode(String.self)) ?? .voice
            for change in changes {
                try await apply(change, callId: id, callType: callType, db)
            }
            try await insert(event, callId: id, db)
            return try await read(id, db)
        }
    }

    public func append(_ event: NewCallEvent, to id: String) async throws {
        // One statement: atomic without BEGIN.
        try await withConnection { [self] db in try await self.insert(event, callId: id, db) }
    }

    // MARK: Reads

    public func call(_ id: String) async throws -> CallRecord? {
        try await withConnection { [self] db in
            let rows = try await db.query(
                """
                \(unescaped: Self.selectCalls) FROM call_sessions s LEFT JOIN call_participants p ON p.call_id = s.id
                WHERE s.id = \(id) ORDER BY p.position
                """, logger: self.logger
            ).collect()
            return CallRows.records(try rows.map(Self.decode)).first
        }
    }

    public func events(_ id: String) async throws -> [CallEvent] {
        let rows = try await withConnection { [self] db in
            // The LEFT JOIN tells "no such call" (no row) from "no events yet" (a row of NULLs).
            try await db.query(
                """
                SELECT e.id, e.type, e.actor, e.payload, (extract(epoch FROM e.created_at) * 1000)::int8 AS created_ms
                FROM call_sessions s LEFT JOIN call_events e ON e.call_id = s.id WHERE s.id = \(id) ORDER BY e.id
                """, logger: self.logger
            ).collect()
        }
        guard !rows.isEmpty else { throw CallStoreError.notFound }
        return try rows.compactMap { row -> CallEvent? in
            let (eventId, type, actor, payload, created) = try row.decode((Int64?, String?, String?, String?, Int64?).self)
            guard let eventId, let type, let created else { return nil }
            return CallEvent(
                id: eventId, callId: id, type: type, actor: actor, payload: payload,
                createdAt: StoredTime.date(created))
        }
    }

    public func calls(of user: String, statuses: Set<CallStatus>) async throws -> [CallRecord] {
        guard !statuses.isEmpty else { return [] }
        let list = statuses.map(\.rawValue).sorted()
        return try await calls(
            """
            WITH page AS (
                SELECT s.id FROM call_participants me JOIN call_sessions s ON s.id = me.call_id
                WHERE me.user_id = \(user) AND s.status = ANY(\(list)))
            \(unescaped: Self.selectCalls) FROM page JOIN call_sessions s ON s.id = page.id
            LEFT JOIN call_participants p ON p.call_id = s.id
            ORDER BY s.created_at DESC, s.id DESC, p.position
            """)
    }

    public func history(of user: String, limit: Int, before: Date?) async throws -> [CallRecord] {
        guard limit > 0 else { return [] }
        // No bound: Int64.max milliseconds is past timestamptz's range, so compare only when set.
        let bound = before.map(StoredTime.milliseconds)
        let fetched = try await calls(
            """
            WITH page AS (
                SELECT call_id FROM call_participants
                WHERE user_id = \(user)
                    AND (\(bound)::int8 IS NULL OR call_created_at < timestamptz 'epoch' + \(bound) * interval '1 ms')
                ORDER BY call_created_at DESC, call_id DESC LIMIT \(limit + 1))
            \(unescaped: Self.selectCalls) FROM page JOIN call_sessions s ON s.id = page.call_id
            LEFT JOIN call_participants p ON p.call_id = s.id
            ORDER BY s.created_at DESC, s.id DESC, p.position
            """)
        let (page, wholeGroup) = HistoryPage.cut(fetched, limit: limit)
        guard let wholeGroup else { return page }
        let tie = StoredTime.milliseconds(wholeGroup)
        return try await page + calls(
            """
            WITH page AS (
                SELECT call_id FROM call_participants
                WHERE user_id = \(user) AND call_created_at = timestamptz 'epoch' + \(tie) * interval '1 ms')
            \(unescaped: Self.selectCalls) FROM page JOIN call_sessions s ON s.id = page.call_id
            LEFT JOIN call_participants p ON p.call_id = s.id
            ORDER BY s.created_at DESC, s.id DESC, p.position
            """)
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
        let bound = StoredTime.milliseconds(cutoff)
        return try await calls(
            """
            WITH page AS (
                SELECT id FROM call_sessions
                WHERE status = \(status.rawValue)
                    AND \(unescaped: time.rawValue) < timestamptz 'epoch' + \(bound) * interval '1 ms')
            \(unescaped: Self.selectCalls) FROM page JOIN call_sessions s ON s.id = page.id
            LEFT JOIN call_participants p ON p.call_id = s.id
            ORDER BY s.\(unescaped: time.rawValue), s.id, p.position
            """)
    }

    public func ping() async throws {
        try await withConnection { [self] db in _ = try await db.query("SELECT 1", logger: self.logger).collect() }
    }

    // MARK: Statements

    /// `body` on a pooled connection, within `timeouts.operation` (see `withDeadline`).
    private func withConnection<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T)
        async throws -> T
    {
        try await withDeadline(timeouts.operation) { [client] in try await client.withConnection(body) }
    }

    /// BEGIN…COMMIT on one leased connection; any error rolls back and is rethrown as it is
    /// (PostgresClient.withTransaction would wrap CallStoreError in PostgresTransactionError).
    private func transaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T)
        async throws -> T
    {
        try await withConnection { [self] db in
            try await db.query("BEGIN", logger: self.logger)
            do {
                let result = try await body(db)
                try await db.query("COMMIT", logger: self.logger)
                return result
            } catch {
                do {
                    try await db.query("ROLLBACK", logger: self.logger)
                } catch let rollback {
                    // A broken connection has no transaction left to roll back; the pool drops it.
                    self.logger.debug("ROLLBACK failed: \(String(reflecting: rollback))")
                }
                throw error
            }
        }
    }

    private func calls(_ query: PostgresQuery) async throws -> [CallRecord] {
        let rows = try await withConnection { [self] db in
            try await db.query(query, logger: self.logger).collect()
        }
        return CallRows.records(try rows.map(Self.decode))
    }

    private func read(_ id: String, _ db: PostgresConnection) async throws -> CallRecord {
        let rows = try await db.query(
            """
            \(unescaped: Self.selectCalls) FROM call_sessions s LEFT JOIN call_participants p ON p.call_id = s.id
            WHERE s.id = \(id) ORDER BY p.position
            """, logger: logger
        ).collect()
        guard let record = CallRows.records(try rows.map(Self.decode)).first else { throw CallStoreError.notFound }
        return record
    }

    private func insert(
        _ participant: CallParticipant, position: Int, callId: String, callCreatedAt: Int64, _ db: PostgresConnection
    ) async throws {
        let joined = participant.joinedAt.map(StoredTime.milliseconds)
        let left = participant.leftAt.map(StoredTime.milliseconds)
        try await db.query(
            """
            INSERT INTO call_participants (call_id, user_id, role, status, audio_enabled, video_enabled, joined_at,
                left_at, position, call_created_at)
            VALUES (\(callId), \(participant.user), \(participant.role.rawValue), \(participant.status.rawValue),
                \(participant.audioEnabled), \(participant.videoEnabled),
                timestamptz 'epoch' + \(joined) * interval '1 ms', timestamptz 'epoch' + \(left) * interval '1 ms',
                \(Int32(position)), timestamptz 'epoch' + \(callCreatedAt) * interval '1 ms')
            """, logger: logger)
    }

    private func apply(_ change: ParticipantChange, callId: String, callType: CallType, _ db: PostgresConnection)
        async throws
    {
        let joined = change.joinedAt.map(StoredTime.milliseconds)
        let left = change.leftAt.map(StoredTime.milliseconds)
        let updated = try await db.query(
            """
            UPDATE call_participants SET status = COALESCE(\(change.status?.rawValue), status),
                audio_enabled = COALESCE(\(change.audioEnabled), audio_enabled),
                video_enabled = COALESCE(\(change.videoEnabled), video_enabled),
                joined_at = COALESCE(timestamptz 'epoch' + \(joined) * interval '1 ms', joined_at),
                left_at = COALESCE(timestamptz 'epoch' + \(left) * interval '1 ms', left_at)
            WHERE call_id = \(callId) AND user_id = \(change.user) RETURNING user_id
            """, logger: logger
        ).collect()
        guard updated.isEmpty else { return }
        guard let role = change.addAs else { throw CallStoreError.notParticipant }
        let participant = ParticipantChange.newParticipant(change, role: role, callType: callType)
        try await db.query(
            """
            INSERT INTO call_participants (call_id, user_id, role, status, audio_enabled, video_enabled, joined_at,
                left_at, position, call_created_at)
            SELECT s.id, \(participant.user), \(participant.role.rawValue), \(participant.status.rawValue),
                \(participant.audioEnabled), \(participant.videoEnabled),
                timestamptz 'epoch' + \(joined) * interval '1 ms', timestamptz 'epoch' + \(left) * interval '1 ms',
                (SELECT COALESCE(MAX(position), -1) + 1 FROM call_participants WHERE call_id = s.id), s.created_at
            FROM call_sessions s WHERE s.id = \(callId)
            """, logger: logger)
    }

    private func insert(_ event: NewCallEvent, callId: String, _ db: PostgresConnection) async throws {
        let at = StoredTime.milliseconds(event.at)
        // Inserting from the session row makes "no such call" an empty result, not an FK error.
        let inserted = try await db.query(
            """
            INSERT INTO call_events (call_id, type, actor, payload, created_at)
            SELECT id, \(event.type), \(event.actor), \(event.payload), timestamptz 'epoch' + \(at) * interval '1 ms'
            FROM call_sessions WHERE id = \(callId) RETURNING id
            """, logger: logger
        ).collect()
        guard !inserted.isEmpty else { throw CallStoreError.notFound }
    }

    private static let selectCalls = """
        SELECT s.id, s.room_id, s.call_type, s.is_group_call, s.initiator, s.status,
            (extract(epoch FROM s.created_at) * 1000)::int8 AS created_ms,
            (extract(epoch FROM s.answered_at) * 1000)::int8 AS answered_ms,
            (extract(epoch FROM s.ended_at) * 1000)::int8 AS ended_ms,
            s.end_reason, p.user_id, p.role, p.status AS participant_status, p.audio_enabled, p.video_enabled,
            (extract(epoch FROM p.joined_at) * 1000)::int8 AS joined_ms,
            (extract(epoch FROM p.left_at) * 1000)::int8 AS left_ms
        """

    private static func decode(_ row: PostgresRow) throws -> CallRow {
        let cells = row.makeRandomAccess()
        func value<T: RawRepresentable>(_ name: String) throws -> T where T.RawValue == String {
            let raw = try cells[name].decode(String.self)
            guard let value = T(rawValue: raw) else { throw CallStoreRowError.unknownValue(name, raw) }
            return value
        }
        var participant: CallParticipant?
        if let user = try cells["user_id"].decode(String?.self) {
            participant = CallParticipant(
                user: user, role: try value("role"), status: try value("participant_status"),
                audioEnabled: try cells["audio_enabled"].decode(Bool.self),
                videoEnabled: try cells["video_enabled"].decode(Bool.self),
                joinedAt: try cells["joined_ms"].decode(Int64?.self).map(StoredTime.date),
                leftAt: try cells["left_ms"].decode(Int64?.self).map(StoredTime.date))
        }
        return CallRow(
            callId: try cells["id"].decode(String.self), roomId: try cells["room_id"].decode(String.self),
            callType: try value("call_type"), isGroupCall: try cells["is_group_call"].decode(Bool.self),
            initiator: try cells["initiator"].decode(String.self), status: try value("status"),
            createdAt: try cells["created_ms"].decode(Int64.self),
            answeredAt: try cells["answered_ms"].decode(Int64?.self),
            endedAt: try cells["ended_ms"].decode(Int64?.self),
            endReason: try cells["end_reason"].decode(String?.self), participant: participant)
    }
}
