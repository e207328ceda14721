// Applies the numbered SQL migrations (migrations/<dialect>/NNN_name.sql, shipped as resources
// of this module) that a database has not seen yet, each in its own transaction, and records
// them in `schema_migrations`. Safe when several `serve` processes start at once.

import Logging
import PostgresNIO
import SQLiteNIO

#if canImport(FoundationEssentials)
import Foundation
#else
import Foundation
#endif

public struct Migration: Sendable, Equatable {
    public var version: Int
    public var name: String
    public var sql: String
}

/// The two SQL dialects migrations are written in; the name is the folder under `Migrations/`.
public enum SQLDialect: String, Sendable, CaseIterable {
    case sqlite, postgres
}

public enum MigrationError: Error, CustomStringConvertible {
    case missingResources
    case badFileName(String)
    case unsupportedDatabase(String)
    case failed(version: Int, reason: String)

    public var description: String {
        switch self {
        case .missingResources: "the migrations folder is missing from the build"
        case .badFileName(let name): "migration file \(name) is not named NNN_name.sql"
        case .unsupportedDatabase(let what): what
        case .failed(let version, let reason): "migration \(version) failed: \(reason)"
        }
    }
}

public enum Migrator {
    /// Every migration shipped with this build for `dialect`, in version order.
    public static func bundled(_ dialect: SQLDialect) throws -> [Migration] {
        guard let root = Bundle.module.url(forResource: "Migrations", withExtension: nil) else {
            throw MigrationError.missingResources
        }
        let folder = root.appendingPathComponent(dialect.rawValue)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else {
            throw MigrationError.missingResources
        }
        let migrations = try names.filter { $0.hasSuffix(".sql") }.map { file in
            guard let number = file.split(separator: "_").first, let version = Int(number) else {
                throw MigrationError.badFileName(file)
            }
            let sql = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            return Migration(version: version, name: String(file.dropLast(4)), sql: sql)
        }.sorted { $0.version < $1.version }
        if let clash = zip(migrations, migrations.dropFirst()).first(where: { $0.version == $1.version }) {
            throw MigrationError.badFileName("\(clash.0.name).sql and \(clash.1.name).sql share a number")
        }
        return migrations
    }

    /// Applies pending migrations; returns the versions applied now. PostgreSQL's pool retries
    /// a refused or failed connection forever; `connectTimeout` turns that into an error
    /// (the pool logs each failed attempt with its reason to `logger`).
    @discardableResult
    public static func migrate(
        _ database: DatabaseURL, logger: Logger, connectTimeout: Duration = .seconds(20)
    ) async throws -> [Int] {
        switch database {
        case .sqlite(let path):
            let storage = try await SQLiteStorage.open(path, logger: logger)
            do {
                let applied = try await migrate(sqlite: storage.connection, logger: logger)
                try await storage.close()
                return applied
            } catch {
                try? await storage.close()
                throw error
            }
        case .postgres(let url):
            let configuration = try PostgresURL.configuration(url)
            let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
            let connected = ConnectedFlag()
            // The client only hands out connections while run() runs; all three tasks end
            // when the migrations are done or the deadline passes without a connection.
            return try await withThrowingTaskGroup(of: [Int]?.self, returning: [Int].self) { group in
                let (running, started) = AsyncStream.makeStream(of: Void.self)
                group.addTask {
                    started.finish()
                    await client.run()
                    return nil
                }
                // (Leasing before run() has begun works, but PostgresNIO logs a warning.)
                for await _ in running {}
                group.addTask {
                    try await migrate(postgres: client, logger: logger) { await connected.set() }
                }
                group.addTask {
                    try await Task.sleep(for: connectTimeout)
                    guard await connected.isSet else {
                        throw MigrationError.unsupportedDatabase(
                            "could not connect to PostgreSQL (\(database)) within \(connectTimeout); the log has each attempt's error")
                    }
                    return nil
                }
                defer { group.cancelAll() }
                while let result = try await group.next() {
                    if let applied = result { return applied }
                }
                throw CancellationError()
            }
        }
    }

    /// SQLite: `BEGIN IMMEDIATE` takes the database's write lock before reading what is
    /// applied, so a second process waits (busy_timeout) and then sees the migration as done.
    @discardableResult
    static func migrate(sqlite connection: SQLiteConnection, logger: Logger) async throws -> [Int] {
        _ = try await connection.query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)",
            [])
        var applied: [Int] = []
        for migration in try bundled(.sqlite) {
            do {
                _ = try await connection.query("BEGIN IMMEDIATE", [])
                let done = try await connection.query(
                    "SELECT 1 FROM schema_migrations WHERE version = ?", [.integer(migration.version)])
                if done.isEmpty {
                    for statement in statements(of: migration.sql) {
                        _ = try await connection.query(statement, [])
                    }
                    _ = try await connection.query(
                        "INSERT INTO schema_migrations (version, name) VALUES (?, ?)",
                        [.integer(migration.version), .text(migration.name)])
                }
                _ = try await connection.query("COMMIT", [])
                if done.isEmpty {
                    logger.info("applied migration \(migration.name)")
                    applied.append(migration.version)
                }
            } catch {
                _ = try? await connection.query("ROLLBACK", [])
                throw MigrationError.failed(version: migration.version, reason: "\(error)")
            }
        }
        return applied
    }

    /// Any number for the advisory lock, the same in every Chorus process ("chorus" + 1).
    static let postgresLockKey: Int64 = 0x6368_6f72_7573_0001

    /// PostgreSQL: each migration's transaction first takes a transaction-scoped advisory lock
    /// (released by COMMIT/ROLLBACK), so concurrent starts apply every migration exactly once;
    /// even `CREATE TABLE IF NOT EXISTS` can fail when two sessions race, hence it is under the
    /// lock too. `client` must be running.
    @discardableResult
    static func migrate(
        postgres client: PostgresClient, logger: Logger, connected: @Sendable () async -> Void = {}
    ) async throws -> [Int] {
        let migrations = try bundled(.postgres)
        return try await client.withConnection { connection in
            await connected()
            var applied: [Int] = []
            for migration in migrations {
                do {
                    try await connection.query("BEGIN", logger: logger)
                    try await connection.query("SELECT pg_advisory_xact_lock(\(postgresLockKey))", logger: logger)
                    try await connection.query(
                        "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
                        logger: logger)
                    let version = migration.version
                    let done = try await connection.query(
                        "SELECT 1 FROM schema_migrations WHERE version = \(version)", logger: logger
                    ).collect().count > 0
                    if !done {
                        for statement in statements(of: migration.sql) {
                            try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                        }
                        try await connection.query(
                            "INSERT INTO schema_migrations (version, name) VALUES (\(version), \(migration.name))",
                            logger: logger)
                    }
                    try await connection.query("COMMIT", logger: logger)
                    if !done {
                        logger.info("applied migration \(migration.name)")
                        applied.append(version)
                    }
                } catch {
                    _ = try? await connection.query("ROLLBACK", logger: logger)
                    throw MigrationError.failed(version: migration.version, reason: String(reflecting: error))
                }
            }
            return applied
        }
    }

    private actor ConnectedFlag {
        private(set) var isSet = false
        func set() { isSet = true }
    }

    /// Splits a migration file into statements at semicolons that end a line; comments dropped.
    static func statements(of sql: String) -> [String] {
        var statements: [String] = []
        var current = ""
        for line in sql.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("--") || trimmed.isEmpty { continue }
            current += line + "\n"
            if trimmed.hasSuffix(";") {
                statements.append(current.trimmingCharacters(in: .whitespacesAndNewlines))
                current = ""
            }
        }
        let rest = current.trimmingCharacters(in: .whitespacesAndNewlines)
        if !rest.isEmpty { statements.append(rest) }
        return statements
    }
}
