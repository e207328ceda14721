// Reading libpq-style PostgreSQL URLs into PostgresNIO client configurations.

import PostgresNIO
import SignalingTestSupport
import Testing
@testable import Signaling

@Suite struct PostgresURLTests {
    @Test func readsEveryPart() throws {
        let configuration = try PostgresURL.configuration("postgres://chorus:s%40cret%2F1@db.example.org:6543/calls?sslmode=disable")
        #expect(configuration.username == "chorus")
        #expect(configuration.password == "s@cret/1")
        #expect(configuration.host == "db.example.org")
        #expect(configuration.port == 6543)
        #expect(configuration.database == "calls")
    }

    @Test func defaultsLikeLibpq() throws {
        let configuration = try PostgresURL.configuration("postgresql://alice@localhost")
        #expect(configuration.port == 5432)
        #expect(configuration.database == "alice")
        #expect(configuration.password == nil)
    }

    @Test func unixSocketFromHostParameter() throws {
        let configuration = try PostgresURL.configuration("postgres://alice:pw@/calls?host=/tmp/pg&port=5433")
        #expect(configuration.unixSocketPath == "/tmp/pg/.s.PGSQL.5433")
        #expect(configuration.database == "calls")
    }

    @Test func refusesWhatItCannotUse() {
        #expect(throws: PostgresURLError.notAURL) { try PostgresURL.configuration("mysql://a@b/c") }
        #expect(throws: PostgresURLError.missingUser) { try PostgresURL.configuration("postgres://db.example.org/calls") }
        #expect(throws: PostgresURLError.unsupportedSSLMode("sometimes")) {
            try PostgresURL.configuration("postgres://a@b/c?sslmode=sometimes")
        }
        #expect(throws: PostgresURLError.badPort("0")) { try PostgresURL.configuration("postgres://a@b/c?port=0") }
    }
}
