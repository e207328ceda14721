// Shared by the Signaling tests: a real SQLite call store on a temporary file, a clock the test
// moves, a realtime client that records what it is sent, and waiting for a condition with a
// deadline instead of sleeping.

import Foundation
import Logging
import Signaling
import SocketIO
import Synchronization

/// A fresh SQLite database in its own temporary directory, removed afterwards.
public final class TemporaryDatabase: Sendable {
    public let directory: URL
    public var path: String { directory.appendingPathComponent("calls.db").path }

    public init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("chorus-calls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    public func open() async throws -> SQLiteCallStore {
        try await SQLiteCallStore.open(path: path, logger: quietLogger("test.store"))
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
    }
}

/// A clock the test moves by hand.
public final class TestClock: Sendable {
    private let current: Mutex<Date>

    public init(_ start: Date = Date(timeIntervalSince1970: 1_790_000_000)) { current = Mutex(start) }

    public var now: Date { current.withLock { $0 } }

    public func advance(_ seconds: TimeInterval) { current.withLock { $0 += seconds } }
}

/// A realtime client that keeps every event it is sent.
public final class RecordingClient: RealtimeClient {
    public let connectionID = UUID().uuidString
    public let user: String
    public let isAdmin: Bool
    private let received = Mutex<[RealtimeEvent]>([])

    public init(_ user: String, isAdmin: Bool = false) {
        self.user = user
        self.isAdmin = isAdmin
    }

    public func deliver(_ event: RealtimeEvent) async {
        received.withLock { $0.append(event) }
    }

    public var events: [RealtimeEvent] { received.withLock { $0 } }

    public func events(_ name: String) -> [RealtimeEvent] { events.filter { $0.event == name } }

    public func clear() { received.withLock { $0.removeAll() } }

    /// The first event named `name` (matching `where`), waiting up to `timeout` for it.
    public func next(_ name: String, timeout: Duration = .seconds(3), where predicate: (RealtimeEvent) -> Bool = { _ in true }) async throws -> RealtimeEvent {
        try await waitFor(timeout: timeout, "\(user) to receive \(name)") {
            events.first { $0.event == name && predicate($0) }
        }
    }
}

public struct TimedOut: Error, CustomStringConvertible {
    public var description: String

    public init(description: String) { self.description = description }
}

/// Polls `probe` every 10 ms until it gives a value or `timeout` passes.
@discardableResult
public func waitFor<T>(timeout: Duration = .seconds(3), _ what: String, _ probe: () async throws -> T?) async throws -> T {
    let deadline = ContinuousClock.now + timeout
    while true {
        if let value = try await probe() { return value }
        guard ContinuousClock.now < deadline else { throw TimedOut(description: "timed out waiting for \(what)") }
        try await Task.sleep(for: .milliseconds(10))
    }
}

extension JSONValue {
    public var intValue: Int? { doubleValue.map { Int($0) } }
}

/// A logger that only speaks up for errors, so that test output stays readable.
public func quietLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = .error
    return logger
}
