// Turns a `postgres://user:password@host:port/database?sslmode=...` URL (libpq's form) into a
// PostgresNIO client configuration; PostgresNIO itself takes only the parts.

import PostgresNIO

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

public enum PostgresURLError: Error, Equatable, CustomStringConvertible {
    case notAURL
    case missingUser
    case badPort(String)
    case unsupportedSSLMode(String)

    public var description: String {
        switch self {
        case .notAURL: "the PostgreSQL URL is not of the form postgres://user:password@host:port/database"
        case .missingUser: "the PostgreSQL URL names no user (postgres://user:password@host/database)"
        case .badPort(let port): "the PostgreSQL URL's port \(port) is not a number from 1 to 65535"
        case .unsupportedSSLMode(let mode): "sslmode=\(mode) is not one of disable, allow, prefer, require, verify-ca, verify-full"
        }
    }
}

enum PostgresURL {
    /// Host defaults to localhost, port to 5432, database to the user's name (as libpq does).
    /// `?host=/dir` selects the Unix socket `/dir/.s.PGSQL.<port>`. `sslmode`: disable;
    /// allow/prefer (the default: TLS when the server offers it); require/verify-ca/verify-full
    /// (TLS, and unlike libpq's `require` the certificate is always verified).
    static func configuration(_ url: String) throws(PostgresURLError) -> PostgresClient.Configuration {
        guard let components = URLComponents(string: url), let scheme = components.scheme,
            scheme == "postgres" || scheme == "postgresql"
        else { throw .notAURL }
        guard let user = components.user, !user.isEmpty else { throw .missingUser }
        // URLComponents keeps percent escapes in user/password only via the percentEncoded*
        // accessors; the plain ones are already decoded.
        let password = components.password
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        let database = path.isEmpty ? user : path
        let query = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })

        let port: Int
        if let given = components.port {
            guard (1...65535).contains(given) else { throw .badPort(String(given)) }
            port = given
        } else if let given = query["port"] {
            guard let number = Int(given), (1...65535).contains(number) else { throw .badPort(given) }
            port = number
        } else {
            port = 5432
        }

        let tls: PostgresClient.Configuration.TLS
        switch query["sslmode"] ?? "prefer" {
        case "disable": tls = .disable
        case "allow", "prefer": tls = .prefer(.makeClientConfiguration())
        case "require", "verify-ca", "verify-full": tls = .require(.makeClientConfiguration())
        case let other: throw .unsupportedSSLMode(other)
        }

        if let socketDirectory = query["host"], socketDirectory.hasPrefix("/") {
            return PostgresClient.Configuration(
                unixSocketPath: "\(socketDirectory)/.s.PGSQL.\(port)", username: user, password: password,
                database: database)
        }
        let host = components.host.flatMap { $0.isEmpty ? nil : $0 } ?? "localhost"
        return PostgresClient.Configuration(
            host: host, port: port, username: user, password: password, database: database, tls: tls)
    }
}
