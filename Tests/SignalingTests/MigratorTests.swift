// Migrations on a real SQLite file and a real PostgreSQL database: applied once, recorded, not
// applied again, and applied exactly once when several processes' worth of migrators race.

import Foundation
import Logging
import PostgresNIO
import SQLiteNIO
import SignalingTestSupport
import Testing
@testable import Signaling

@Suite struct MigratorTests {
    static let logger = Logger(label: "test")

    @Test(arguments: SQLDialect.allCases)
    func bothDialectsShipTheSameNumbers(_ dialect: SQLDialect) throws {
        let bundled = try Migrator.bundled(dialect)
        #expect(!bundled.isEmpty)
        #expect(bundled.map(\.version) == bundled.map(\.version).sorted())
        #expect(bundled.map(\.name) == (try Migrator.bundled(.sqlite)).map(\.name))
        #expect(bundled.contains { $0.sql.contains("CREATE TABLE call_sessions") })
    }

    @Test(arguments: StoreBackend.available)
    func appliesBundledMigrationsOnce(_ backend: StoreBackend) async throws {
        try await TestDatabase.with(backend) { database in
            let dialect: SQLDialect = backend == .sqlite ? .sqlite : .postgres
            let bundled = try Migrator.bundled(dialect)
            let first = try await Migrator.migrate(database.url, logger: Self.logger)
            #expect(first == bundled.map(\.version))
            let second = try await Migrator.migrate(database.url, logger: Self.logger)
            #expect(second.isEmpty)
            #expect(try await Self.recordedVersions(database) == bundled.map(\.version))
        }
    }

    /// Six migrators at once on one empty database (as six `serve` starts would): every
    /// migration is applied by exactly one of them, and none fails.
    @Test(arguments: StoreBackend.available)
    func concurrentMigratorsApplyEachMigrationOnce(_ backend: StoreBackend) async throws {
        try await TestDatabase.with(backend) { database in
            let dialect: SQLDialect = backend == .sqlite ? .sqlite : .postgres
            let applied = try await withThrowingTaskGroup(of: [Int].self) { group in
                for _ in 0..<6 {
                    group.addTask { try await Migrator.migrate(database.url, logger: Self.logger) }
                }
                var all: [Int] = []
                for try await versions in group { all += versions }
                return all
            }
            let bundled = try Migrator.bundled(dialect).map(\.version)
            #expect(applied.sorted() == bundled)
            #expect(try await Self.recordedVersions(database) == bundled)
        }
    }

    @Test func splitsStatementsAndDropsComments() {
        let sql = "-- comment\nCREATE TABLE a (x INTEGER);\n\nCREATE INDEX i ON a (x);\n"
        #expect(Migrator.statements(of: sql) == ["CREATE TABLE a (x INTEGER);", "CREATE INDEX i ON a (x);"])
    }

    /// A hang guard, not a speed check: connectTimeout must end the attempt (PostgresNIO's pool
    /// alone retries forever). The limit is generous because the machines are shared.
    @Test(.timeLimit(.minutes(1))) func unreachablePostgresFailsWithoutHanging() async {
        await #expect(throws: (any Error).self) {
            // Port 1 on loopback: connection refused at once.
            try await Migrator.migrate(
                .postgres(url: "postgres://u:p@127.0.0.1:1/x?sslmode=disable"), logger: Self.logger,
                connectTimeout: .seconds(2))
        }
    }

    static func recordedVersions(_ database: TestDatabase) async throws -> [Int] {
        switch database.url {
        case .sqlite(let path):
            let connection = try await SQLiteConnection.open(storage: .file(path: path))
            let rows = try await connection.query("SELECT version FROM schema_migrations ORDER BY version", [])
            try await connection.close()
            return rows.compactMap { $0.column("version")?.integer }
        case .postgres(let url):
            return try await TestDatabase.withAdmin(url) { client in
                var versions: [Int] = []
                for try await version in try await client.query("SELECT version FROM schema_migrations ORDER BY version").decode(Int32.self) {
                    versions.append(Int(version))
                }
                return versions
            }
        }
    }
}
