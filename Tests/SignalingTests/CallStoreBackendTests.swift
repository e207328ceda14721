// The two databases the CallStore suite runs against, each test on a fresh, empty one: a new
// SQLite file, or a new PostgreSQL database (CREATE DATABASE chorus_test_<random>, dropped
// after) on the server named by CHORUS_TEST_POSTGRES_URL (scripts/postgres.sh start).

import Foundation
import Logging
import PostgresNIO
import SignalingTestSupport
import Testing
@testable import Signaling

enum StoreBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres

    var testDescription: String { rawValue }

    static let postgresURLVariable = "CHORUS_TEST_POSTGRES_URL"
    static var postgresAdminURL: String? {
        ProcessInfo.processInfo.environment[postgresURLVariable].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The backends this run can use. Without a PostgreSQL server the PostgreSQL cases are not
    /// generated at all, and `CallStoreBackendTests.postgresServer` is what reports them skipped.
    static var available: [StoreBackend] {
        postgresAdminURL == nil ? [.sqlite] : allCases
    }

    static let postgresSkipReason: Comment = """
        CHORUS_TEST_POSTGRES_URL is not set, so every PostgreSQL case of CallStoreTests and \
        MigratorTests is skipped: run scripts/postgres.sh start and export the URL from \
        artifacts/postgres.env (scripts/test.sh does both)
        """
}

/// Says, visibly, whether the PostgreSQL half of the store suite runs, and that the server
/// is one the store can use.
@Suite struct CallStoreBackendTests {
    @Test(.enabled(if: StoreBackend.postgresAdminURL != nil, StoreBackend.postgresSkipReason))
    func postgresServer() async throws {
        let url = try #require(StoreBackend.postgresAdminURL)
        let version = try await TestDatabase.withAdmin(url) { client in
            var numbers: [Int32] = []
            for try await number in try await client.query("SELECT current_setting('server_version_num')::int4").decode(Int32.self) {
                numbers.append(number)
            }
            return numbers.first ?? 0
        }
        // extract() returns numeric from 14 on, which the exact millisecond reads rely on.
        #expect(version >= 140000, "PostgreSQL \(version) is older than 14")
    }
}

/// A fresh database of one backend; `drop()` deletes it.
struct TestDatabase: Sendable {
    let backend: StoreBackend
    let url: DatabaseURL
    private let name: String

    static let logger = Logger(label: "chorus.test.store")

    /// Skips (cancels) the running test case, with the reason shown, when the PostgreSQL case
    /// has no server to run on: scripts/test.sh always provides one.
    static func make(_ backend: StoreBackend) async throws -> TestDatabase {
        switch backend {
        case .sqlite:
            let path = FileManager.default.temporaryDirectory
                .appendingPathComponent("chorus-store-\(UUID().uuidString).db").path
            return TestDatabase(backend: backend, url: .sqlite(path: path), name: path)
        case .postgres:
            guard let admin = StoreBackend.postgresAdminURL else {
                try Test.cancel(StoreBackend.postgresSkipReason)
            }
            let name = "chorus_test_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased())"
            try await withAdmin(admin) { client in
                // Identifiers cannot be bound; `name` is made of [a-z0-9_] above.
                _ = try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"))
            }
            var components = URLComponents(string: admin)!
            components.path = "/\(name)"
            return TestDatabase(backend: backend, url: .postgres(url: components.string!), name: name)
        }
    }

    func drop() async throws {
        switch backend {
        case .sqlite:
            for suffix in ["", "-wal", "-shm"] {
                try? FileManager.default.removeItem(atPath: name + suffix)
            }
        case .postgres:
            guard let admin = StoreBackend.postgresAdminURL else { return }
            try await Self.withAdmin(admin) { client in
                _ = try await client.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"))
            }
        }
    }

    /// Opens the store (applying migrations), runs it while `body` uses it, closes it.
    func withStore<T: Sendable>(_ body: @Sendable (any CallStore) async throws -> T) async throws -> T {
        // Generous bounds: these tests are about what is stored, and a CI machine running
        // other stages beside them can take more than production's 5 s for a burst of 60.
        try await CallStores.withStore(url, logger: Self.logger, postgresTimeouts: .init(connect: .seconds(20), operation: .seconds(30)), body)
    }

    /// Runs `body` on a fresh database of `backend`, dropped afterwards even when `body` throws.
    static func with<T: Sendable>(_ backend: StoreBackend, _ body: @Sendable (TestDatabase) async throws -> T)
        async throws -> T
    {
        let database = try await make(backend)
        do {
            let result = try await body(database)
            try await database.drop()
            return result
        } catch {
            try? await database.drop()
            throw error
        }
    }

    static func withAdmin<T: Sendable>(_ url: String, _ body: @Sendable (PostgresClient) async throws -> T)
        async throws -> T
    {
        let client = PostgresClient(configuration: try PostgresURL.configuration(url), backgroundLogger: logger)
        return try await withThrowingTaskGroup(of: Void.self, returning: T.self) { group in
            let (running, started) = AsyncStream.makeStream(of: Void.self)
            group.addTask {
                started.finish()
                await client.run()
            }
            for await _ in running {}
            defer { group.cancelAll() }
            return try await body(client)
        }
    }
}
