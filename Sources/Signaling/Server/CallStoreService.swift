// The call database as a lifecycle service. It is opened while the server already listens, so
// that an orchestrator's health check gets `starting` rather than a refused connection: the
// migrations run (PostgreSQL: 20 s of connection attempts, then the error; SQLite on a file that
// cannot be written, a read-only volume or a full disk: 20 s of attempts too, the call API
// saying why meanwhile), the store is handed to the DeferredCallStore the call service answers
// through, and it runs (PostgreSQL's pool) until graceful shutdown. A store that cannot be
// opened fails the service group: `serve` logs the error as critical and exits 1, as before the
// listener opened first.

import Logging
import ServiceLifecycle

struct CallStoreService: Service {
    let database: DatabaseURL
    let store: DeferredCallStore
    let logger: Logger

    /// How long an SQLite file that cannot be written is tried again, as PostgreSQL's
    /// connection attempts are (Migrator): long enough for a volume to be remounted.
    static let unwritableWindow: Duration = .seconds(20)

    func run() async throws {
        let opened: any CallStore
        do {
            opened = try await cancelWhenGracefulShutdown { [database, logger, store] in
                try await Self.open(database, logger: logger, reportingTo: store)
            }
        } catch {
            // Stopped (SIGTERM) while still opening: nothing to report.
            if Task.isShuttingDownGracefully { return }
            throw error
        }
        if let postgres = opened as? PostgresCallStore {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await postgres.run() }
                // Leasing before the pool runs works, but PostgresNIO warns about it.
                await postgres.untilRunning()
                ready(opened)
                // The pool runs until graceful shutdown; the group waits for it.
            }
        } else {
            ready(opened)
            try? await gracefulShutdown()
        }
        try? await opened.close()
    }

    /// Opens the store; an SQLite file that cannot be written (SQLiteCallStore.unwritable) is
    /// tried again each second for `unwritableWindow`, and meanwhile the call API answers
    /// `database_unwritable` and the log says why.
    private static func open(_ database: DatabaseURL, logger: Logger, reportingTo store: DeferredCallStore) async throws -> any CallStore {
        let deadline = ContinuousClock.now + unwritableWindow
        while true {
            do {
                return try await CallStores.open(database, logger: logger)
            } catch {
                guard case .sqlite = database, let unwritable = SQLiteCallStore.unwritable(error),
                    ContinuousClock.now < deadline
                else { throw error }
                logger.error("the call database \(database) cannot be opened for writing, trying again: \(unwritable)")
                store.failing(with: unwritable)
                try await Task.sleep(for: .seconds(1))
            }
        }
    }

    private func ready(_ opened: any CallStore) {
        store.open(opened)
        logger.info("database \(database) ready")
    }
}
