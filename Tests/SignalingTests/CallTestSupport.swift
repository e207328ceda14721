// Shared by the call tests: a real SQLite call store on a temporary file, a realtime client
// that records what it is sent, and waiting for an event with a deadline.

import Foundation
import Logging
import Testing
@testable import Signaling
@testable import SocketIO

/// A fresh SQLite database in its own temporary directory, removed afterwards.
final class TemporaryDatabase {
    let directory: URL
    var path: String { directory.appendingPathComponent("calls.db").path }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("chorus-calls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func open() async throws -> SQLiteCallStore {
        try await SQLiteCallStore.open(path: path, logger: quietLogger("test.store"))
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
    }
}

/// A clock the test moves by hand.
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date

    init(_ start: Date = Date(timeIntervalSince1970: 1_790_000_000)) { current = start }

    var now: Date { lock.withLock { current } }

    func advance(_ seconds: TimeInterval) { lock.withLock { current += seconds } }
}

/// A realtime client that keeps every event it is sent.
final class RecordingClient: RealtimeClient, @unchecked Sendable {
    let connectionID = UUID().uuidString
    let user: String
    let isAdmin: Bool
    private let lock = NSLock()
    private var received: [RealtimeEvent] = []

    init(_ user: String, isAdmin: Bool = false) {
        self.user = user
        self.isAdmin = isAdmin
    }

    func deliver(_ event: RealtimeEvent) async {
        lock.withLock { received.append(event) }
    }

    var events: [RealtimeEvent] { lock.withLock { received } }

    func events(_ name: String) -> [RealtimeEvent] { events.filter { $0.event == name } }

    func clear() { lock.withLock { received.removeAll() } }

    /// The first event named `name` (matching `where`), waiting up to `timeout` for it.
    func next(_ name: String, timeout: Duration = .seconds(3), where predicate: (RealtimeEvent) -> Bool = { _ in true }) async throws -> RealtimeEvent {
        try await waitFor(timeout: timeout, "\(user) to receive \(name)") {
            events.first { $0.event == name && predicate($0) }
        }
    }
}

struct TimedOut: Error, CustomStringConvertible {
    var description: String
}

/// Polls `probe` every 10 ms until it gives a value or `timeout` passes.
@discardableResult
func waitFor<T>(timeout: Duration = .seconds(3), _ what: String, _ probe: () async throws -> T?) async throws -> T {
    let deadline = ContinuousClock.now + timeout
    while true {
        if let value = try await probe() { return value }
        guard ContinuousClock.now < deadline else { throw TimedOut(description: "timed out waiting for \(what)") }
        try await Task.sleep(for: .milliseconds(10))
    }
}

extension JSONValue {
    var intValue: Int? { doubleValue.map { Int($0) } }
}

/// A logger that only speaks up for errors, so that test output stays readable.
func quietLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = .error
    return logger
}
