// How Chorus opens an SQLite database: which file, a thread of its own for the connection, and
// the settings every connection needs.

import Logging
import SQLiteNIO

/// An open connection and the thread that runs its (blocking) SQLite calls.
struct SQLiteStorage: Sendable {
    let connection: SQLiteConnection
    private let thread: NIOThreadPool

    /// Opens (creating if needed) `path`, `:memory:` for a private in-memory database.
    ///
    /// Each connection gets its own one-thread pool rather than NIOThreadPool.singleton (one
    /// thread per core): a connection waiting for another's write lock sleeps inside SQLite
    /// (busy_timeout) on that thread, and on a 2-core machine two such waiters would occupy the
    /// shared pool while the connection holding the lock could not get a thread to COMMIT.
    static func open(_ path: String, logger: Logger) async throws -> SQLiteStorage {
        let thread = NIOThreadPool(numberOfThreads: 1)
        thread.start()
        let storage: SQLiteConnection.Storage = path == ":memory:" ? .memory : .file(path: path)
        let connection: SQLiteConnection
        do {
            connection = try await SQLiteConnection.open(
                storage: storage, threadPool: thread, logger: logger, on: MultiThreadedEventLoopGroup.singleton.any()
            ).get()
        } catch {
            try? await thread.shutdownGracefully()
            throw error
        }
        let opened = SQLiteStorage(connection: connection, thread: thread)
        do {
            try await opened.configure()
        } catch {
            try? await opened.close()
            throw error
        }
        return opened
    }

    /// WAL lets readers (another process, `sqlite3` by hand) run while a call is written, and
    /// makes a commit one append; busy_timeout makes a second process (two `serve` starts, a
    /// `migrate` beside a `serve`) wait for the write lock instead of failing with SQLITE_BUSY.
    /// Foreign keys are off by default in SQLite and must be enabled on every connection.
    private func configure() async throws {
        _ = try await connection.query("PRAGMA busy_timeout = 10000", [])
        _ = try await connection.query("PRAGMA journal_mode = WAL", [])
        // NORMAL is durable against a crash of the process; only an OS crash or power loss can
        // lose the last commits (https://www.sqlite.org/pragma.html#pragma_synchronous).
        _ = try await connection.query("PRAGMA synchronous = NORMAL", [])
        _ = try await connection.query("PRAGMA foreign_keys = ON", [])
    }

    /// Closes the connection, then its thread. Uses the future-based close: SQLiteNIO's async
    /// close() gives up in a cancelled task and leaves the handle open (its deinit then traps).
    func close() async throws {
        do {
            try await connection.close().get()
        } catch {
            try? await thread.shutdownGracefully()
            throw error
        }
        try await thread.shutdownGracefully()
    }
}
