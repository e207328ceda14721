// Applies the numbered SQL migrations (migrations/NNN_name.sql, shipped as resources of this
// module) that a database has not seen yet, each in its own transaction, and records them.

import Logging
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
    /// Every migration shipped with this build, in version order.
    public static func bundled() throws -> [Migration] {
        guard let folder = Bundle.module.url(forResource: "Migrations", withExtension: nil) else {
            throw MigrationError.missingResources
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".sql") }
        return try files.map { file in
            guard let number = file.split(separator: "_").first, let version = Int(number) else {
                throw MigrationError.badFileName(file)
            }
            let sql = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            return Migration(version: version, name: String(file.dropLast(4)), sql: sql)
        }.sorted { $0.version < $1.version }
    }

    /// Applies pending migrations; returns the versions applied now.
    @discardableResult
    public static func migrate(_ database: DatabaseURL, logger: Logger) async throws -> [Int] {
        switch database {
        case .sqlite(let path):
            let storage: SQLiteConnection.Storage = path == ":memory:" ? .memory : .file(path: path)
            let connection = try await SQLiteConnection.open(storage: storage, logger: logger)
            do {
                let applied = try await migrate(sqlite: connection, logger: logger)
                try await connection.close()
                return applied
            } catch {
                try? await connection.close()
                throw error
            }
        case .postgres:
            throw MigrationError.unsupportedDatabase(
                "PostgreSQL is not supported by this build yet (it arrives with the call store); use sqlite://")
        }
    }

    static func migrate(sqlite connection: SQLiteConnection, logger: Logger) async throws -> [Int] {
        _ = try await connection.query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)",
            [])
        let rows = try await connection.query("SELECT version FROM schema_migrations", [])
        let done = Set(rows.compactMap { $0.column("version")?.integer })
        var applied: [Int] = []
        for migration in try bundled() where !done.contains(migration.version) {
            do {
                _ = try await connection.query("BEGIN", [])
                for statement in statements(of: migration.sql) {
                    _ = try await connection.query(statement, [])
                }
                _ = try await connection.query(
                    "INSERT INTO schema_migrations (version, name) VALUES (?, ?)",
                    [.integer(migration.version), .text(migration.name)])
                _ = try await connection.query("COMMIT", [])
            } catch {
                _ = try? await connection.query("ROLLBACK", [])
                throw MigrationError.failed(version: migration.version, reason: "\(error)")
            }
            logger.info("applied migration \(migration.name)")
            applied.append(migration.version)
        }
        return applied
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
