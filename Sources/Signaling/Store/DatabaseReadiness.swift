// Whether the call database can serve requests, as /healthz reports it: an orchestrator sends
// traffic only to a ready instance, and its probes must get an answer quickly even while the
// database is gone (PostgreSQL's operation deadline is longer than a probe's timeout).

import Logging

enum DatabaseReadiness: String, Sendable {
    case ready = "ok"
    /// The server listens but has not opened and migrated the database yet.
    case starting
    /// The database did not answer a round trip.
    case unavailable

    /// One round trip to the store, given at most `limit`.
    static func probe(_ store: any CallStore, within limit: Duration, logger: Logger) async -> DatabaseReadiness {
        do {
            try await withDeadline(limit) { try await store.ping() }
            return .ready
        } catch CallStoreError.starting {
            return .starting
        } catch {
            // Each request the outage fails is a 503 already; a probe's failure is detail.
            logger.debug("database health check failed: \(String(reflecting: error))")
            return .unavailable
        }
    }
}
