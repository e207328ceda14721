// Where calls, participants and their audit log live: one protocol, two implementations
// (SQLiteCallStore, the zero-setup default; PostgresCallStore for production), one test suite.
// Every state change commits together with its call_events row.

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

public enum CallStoreError: Error, Equatable, Sendable {
    case notFound
    /// The call is not in a status the transition starts from; carries the status it is in.
    case conflict(current: CallStatus)
    case notParticipant
    case duplicate
    /// The server is still opening and migrating the database (it listens before that).
    case starting
    /// The database cannot take writes: its disk is full, its file or folder is read-only, or
    /// the storage fails. Carries what the database said, for the log (the client gets a 503).
    case unwritable(String)
}

public protocol CallStore: Sendable {
    /// Inserts the call, its participants and `event` in one transaction (`duplicate` if the id exists).
    func create(_ call: CallRecord, event: NewCallEvent) async throws
    func call(_ id: String) async throws -> CallRecord?
    /// In one transaction: if the call's status is one of `from`, sets `to` (stamping
    /// answeredAt when `to` is active, endedAt and endReason when it is ended/rejected/missed),
    /// applies `participants` and appends `event`; otherwise throws `conflict(current:)`.
    /// Of two concurrent transitions from the same status exactly one succeeds.
    func transition(
        _ id: String, from: Set<CallStatus>, to: CallStatus, at: Date, reason: String?,
        participants: [ParticipantChange], event: NewCallEvent
    ) async throws -> CallRecord
    /// In one transaction: applies participant changes and appends `event`. Throws `notFound`,
    /// or `notParticipant` for a change to a user not in the call without `addAs`.
    func updateParticipants(_ id: String, changes: [ParticipantChange], event: NewCallEvent) async throws -> CallRecord
    /// Appends an event (relayed SDP and candidates) without changing the call; `notFound` if
    /// there is no such call.
    func append(_ event: NewCallEvent, to id: String) async throws
    /// The call's events, oldest first (by id: events of one millisecond keep their order);
    /// `notFound` if there is no such call.
    func events(_ id: String) async throws -> [CallEvent]
    /// Calls `user` takes part in whose status is in `statuses`, newest first.
    func calls(of user: String, statuses: Set<CallStatus>) async throws -> [CallRecord]
    /// The user's calls created strictly before `before` (nil: no bound), newest first by
    /// (createdAt, callId), at most `limit`, except that a page never ends inside a group of
    /// calls created in the same millisecond: it stops before such a group, so that the next
    /// page (`before` = the last createdAt shown) starts with it, or, if the group alone is
    /// larger than `limit`, the page is that whole group. No call is lost or repeated.
    /// Times are stored to the millisecond (truncated), `before` included.
    func history(of user: String, limit: Int, before: Date?) async throws -> [CallRecord]
    /// Calls still ringing that were created before `cutoff` (the ring-timeout sweep).
    func ringing(createdBefore cutoff: Date) async throws -> [CallRecord]
    /// Calls still active that were answered before `cutoff`, oldest answer first: those a
    /// previous server process left active (the sweep after a restart).
    func active(answeredBefore cutoff: Date) async throws -> [CallRecord]
    /// One round trip to the database (/healthz): returns when it answers, throws when it cannot.
    func ping() async throws
    /// Returns once the store can answer: at once for an open store; DeferredCallStore waits
    /// until the server has opened the database. Throws if the task is cancelled first.
    func untilOpen() async throws
    func close() async throws
}

extension CallStore {
    public func untilOpen() async throws {}
}
