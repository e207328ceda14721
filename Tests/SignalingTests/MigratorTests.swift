// Migrations on a real SQLite file: applied once, recorded, and not applied again.

import Foundation
import Logging
import SQLiteNIO
import Testing
@testable import Signaling

@Suite struct MigratorTests {
    @Test func appliesBundledMigrationsOnce() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("chorus-\(UUID().uuidString).db").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let bundled = try Migrator.bundled()
        #expect(!bundled.isEmpty)
        #expect(bundled.map(\.version) == bundled.map(\.version).sorted())
        let logger = Logger(label: "test")
        let first = try await Migrator.migrate(.sqlite(path: path), logger: logger)
        #expect(first == bundled.map(\.version))
        let second = try await Migrator.migrate(.sqlite(path: path), logger: logger)
        #expect(second.isEmpty)
        let connection = try await SQLiteConnection.open(storage: .file(path: path))
        let rows = try await connection.query("SELECT version FROM schema_migrations ORDER BY version", [])
        #expect(rows.compactMap { $0.column("version")?.integer } == bundled.map(\.version))
        try await connection.close()
    }

    @Test func postgresIsRefusedClearlyForNow() async {
        await #expect(throws: MigrationError.self) {
            try await Migrator.migrate(.postgres(url: "postgres://u:p@127.0.0.1:1/x"), logger: Logger(label: "test"))
        }
    }

    @Test func splitsStatementsAndDropsComments() {
        let sql = "-- comment\nCREATE TABLE a (x INTEGER);\n\nCREATE INDEX i ON a (x);\n"
        #expect(Migrator.statements(of: sql) == ["CREATE TABLE a (x INTEGER);", "CREATE INDEX i ON a (x);"])
    }
}
