// The call store as the server holds it while it starts: the HTTP listener opens before the
// database is reachable and migrated (so that an orchestrator's health check gets an answer),
// and until then every operation fails with `starting` (a 503) instead of waiting.

import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

public final class DeferredCallStore: CallStore {
    private struct State {
        var store: (any CallStore)?
        /// What operations fail with until then: `starting`, or why opening fails for now.
        var notOpen = CallStoreError.starting
        /// Tasks in `untilOpen`, by a number that lets a cancelled one take itself out.
        var waiters: [UInt64: CheckedContinuation<Void, any Error>] = [:]
        var lastWaiter: UInt64 = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// From now on every operation goes to `store`, open and migrated.
    public func open(_ store: any CallStore) {
        let waiters = state.withLock { state in
            state.store = store
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    public var isOpen: Bool { state.withLock { $0.store != nil } }

    /// Until `open`, operations fail with `error` instead of `starting` (a database that cannot
    /// be opened for writing yet: the client is told that, not that the server is starting).
    public func failing(with error: CallStoreError) {
        state.withLock { $0.notOpen = error }
    }

    private func current() throws(CallStoreError) -> any CallStore {
        let (store, notOpen) = state.withLock { ($0.store, $0.notOpen) }
        guard let store else { throw notOpen }
        return store
    }

    public func untilOpen() async throws {
        let id = state.withLock { state in
            state.lastWaiter += 1
            return state.lastWaiter
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let now: Result<Void, any Error>? = state.withLock { state in
                    if state.store != nil { return .success(()) }
                    // Cancelled before the handler below could find this waiter.
                    if Task.isCancelled { return .failure(CancellationError()) }
                    state.waiters[id] = continuation
                    return nil
                }
                if let now { continuation.resume(with: now) }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume(throwing: CancellationError())
        }
    }

    public func create(_ call: CallRecord, event: NewCallEvent) async throws {
        try await current().create(call, event: event)
    }

    public func call(_ id: String) async throws -> CallRecord? {
        try await current().call(id)
    }

    public func transition(
        _ id: String, from: Set<CallStatus>, to: CallStatus, at: Date, reason: String?,
        participants: [ParticipantChange], event: NewCallEvent
    ) async throws -> CallRecord {
        try await current().transition(id, from: from, to: to, at: at, reason: reason, participants: participants, event: event)
    }

    public func updateParticipants(_ id: String, changes: [ParticipantChange], event: NewCallEvent) async throws -> CallRecord {
        try await current().updateParticipants(id, changes: changes, event: event)
    }

    public func append(_ event: NewCallEvent, to id: String) async throws {
        try await current().append(event, to: id)
    }

    public func events(_ id: String) async throws -> [CallEvent] {
        try await current().events(id)
    }

    public func calls(of user: String, statuses: Set<CallStatus>) async throws -> [CallRecord] {
        try await current().calls(of: user, statuses: statuses)
    }

    public func history(of user: String, limit: Int, before: Date?) async throws -> [CallRecord] {
        try await current().history(of: user, limit: limit, before: before)
    }

    public func ringing(createdBefore cutoff: Date) async throws -> [CallRecord] {
        try await current().ringing(createdBefore: cutoff)
    }

    public func active(answeredBefore cutoff: Date) async throws -> [CallRecord] {
        try await current().active(answeredBefore: cutoff)
    }

    public func ping() async throws {
        try await current().ping()
    }

    /// Closes the store if it was opened; the one who opened it may close it instead.
    public func close() async throws {
        try await state.withLock { $0.store }?.close()
    }
}
