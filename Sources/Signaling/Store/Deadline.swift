// Bounds how long a caller waits for the database. PostgresNIO can cancel a wait for a pooled
// connection but not a query in flight: a server that stopped answering (frozen, or a network
// that drops packets) would hold a request until TCP gives up, minutes later. So the caller
// waits for whichever comes first, the operation or the deadline; an operation left behind is
// cancelled, and ends by itself when its connection fails.

import Synchronization

/// An operation did not finish within its deadline. It may still take effect afterwards (a
/// COMMIT sent just before): the caller must not take the timeout as "nothing happened".
public struct DeadlineExceeded: Error, Equatable, CustomStringConvertible {
    public var limit: Duration

    public var description: String { "the database did not answer within \(limit)" }
}

/// Runs `operation` and returns its result, or throws `DeadlineExceeded` once `limit` has passed,
/// or `CancellationError` as soon as the calling task is cancelled, without waiting for
/// `operation` to notice.
func withDeadline<T: Sendable>(_ limit: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    let outcome = FirstOutcome<T>()
    let work = Task {
        do {
            outcome.resolve(.success(try await operation()))
        } catch {
            outcome.resolve(.failure(error))
        }
    }
    let timer = Task {
        guard (try? await Task.sleep(for: limit)) != nil else { return }
        outcome.resolve(.failure(DeadlineExceeded(limit: limit)))
    }
    // Whatever won, the others stop: a finished task ignores cancel.
    defer {
        timer.cancel()
        work.cancel()
    }
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { outcome.wait($0) }
    } onCancel: {
        outcome.resolve(.failure(CancellationError()))
    }
}

/// The first of several results to arrive, handed to one waiting continuation exactly once.
/// A result may arrive before the continuation does (the cancellation handler of a task that
/// was already cancelled runs first).
private final class FirstOutcome<T: Sendable>: Sendable {
    private enum State {
        case pending(waiter: CheckedContinuation<T, any Error>?, result: Result<T, any Error>?)
        case delivered
    }

    private let state = Mutex<State>(.pending(waiter: nil, result: nil))

    func wait(_ continuation: CheckedContinuation<T, any Error>) {
        let ready: Result<T, any Error>? = state.withLock { state in
            guard case .pending(_, let result) = state else { return nil }
            if let result {
                state = .delivered
                return result
            }
            state = .pending(waiter: continuation, result: nil)
            return nil
        }
        if let ready { continuation.resume(with: ready) }
    }

    func resolve(_ result: Result<T, any Error>) {
        let waiter: CheckedContinuation<T, any Error>? = state.withLock { state in
            guard case .pending(let waiter, let earlier) = state, earlier == nil else { return nil }
            guard let waiter else {
                state = .pending(waiter: nil, result: result)
                return nil
            }
            state = .delivered
            return waiter
        }
        waiter?.resume(with: result)
    }
}
