// The `--database` setting: an embedded SQLite file (the zero-setup default) or PostgreSQL.

public enum DatabaseURL: Equatable, Sendable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(url: String)

    public static let `default` = DatabaseURL.sqlite(path: "./chorus.db")

    /// `sqlite:///absolute/file.db`, `sqlite://./relative.db`, `sqlite://:memory:`,
    /// `postgres://user:pass@host:port/db` (or `postgresql://`).
    public init?(string: String) {
        if string.hasPrefix("sqlite://") {
            let path = String(string.dropFirst("sqlite://".count))
            guard !path.isEmpty else { return nil }
            self = .sqlite(path: path)
        } else if string.hasPrefix("postgres://") || string.hasPrefix("postgresql://") {
            self = .postgres(url: string)
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .sqlite(let path): "sqlite://\(path)"
        case .postgres: "postgres://…"  // never log credentials
        }
    }
}
