// The call database as a lifecycle service. It is opened while the server already listens, so
// that an orchestrator's health check gets `starting` rather than a refused connection: the
// migrations run (PostgreSQL: 20 s of connection attempts, then the error), the store is handed
// to the DeferredCallStore the call service answers through, and it runs (PostgreSQL's pool)
// until graceful shutdown. A store that cannot be opened fails the service group: `serve`
// logs the error as critical and exits 1, as before the listener opened first.

import Logging
import ServiceLifecycle

struct CallStoreService: Service {
    let database: DatabaseURL
    let store: DeferredCallStore
    let logger: Logger

    func run() async throws {
        let opened: any CallStore
        do {
            opened = try await cancelWhenGracefulShutdown { [database, logger] in
                try await CallStores.open(database, logger: logger)
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

    private func ready(_ opened: any CallStore) {
        store.open(opened)
        logger.info("database \(database) ready")
    }
}
