// Opens the CallStore a `--database` URL names, with its migrations applied, and runs what
// must keep running beside it (PostgreSQL's connection pool; nothing for SQLite) for tools.

import Logging

public enum CallStores {
    /// Applies pending migrations and opens the store. A PostgreSQL store answers only while
    /// its pool runs (`PostgresCallStore.run`: CallStoreService in the server, or `withStore`).
    /// `postgresTimeouts` bound each PostgreSQL operation (tests on a loaded machine give more).
    public static func open(
        _ url: DatabaseURL, logger: Logger, postgresTimeouts: PostgresCallStore.Timeouts = .init()
    ) async throws -> any CallStore {
        switch url {
        case .sqlite(let path):
            // Migrated on the store's own connection: for `:memory:` a second connection
            // would be a different database.
            return try await SQLiteCallStore.open(path: path, logger: logger)
        case .postgres(let string):
            try await Migrator.migrate(url, logger: logger)
            return try PostgresCallStore(url: string, timeouts: postgresTimeouts, logger: logger)
        }
    }

    /// Opens the store, runs what it needs while `body` uses it, then closes it (tests, tools).
    public static func withStore<Result: Sendable>(
        _ url: DatabaseURL, logger: Logger, postgresTimeouts: PostgresCallStore.Timeouts = .init(),
        _ body: @Sendable (any CallStore) async throws -> Result
    ) async throws -> Result {
        let store = try await open(url, logger: logger, postgresTimeouts: postgresTimeouts)
        guard let postgres = store as? PostgresCallStore else {
            do {
                let result = try await body(store)
                try await store.close()
                return result
            } catch {
                try? await store.close()
                throw error
            }
        }
        return try await withThrowingTaskGroup(of: Void.self, returning: Result.self) { group in
            group.addTask { await postgres.run() }
            await postgres.untilRunning()
            defer { group.cancelAll() }
            do {
                let result = try await body(postgres)
                try await postgres.close()
                return result
            } catch {
                try? await postgres.close()
                throw error
            }
        }
    }
}
