// Runs async work one piece at a time, in arrival order. An actor alone is not enough: it is
// re-entered at every `await`, and an SQLite transaction is many awaits on one connection.

actor TransactionGate {
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    /// Runs `body` once everything submitted before it has finished.
    func exclusive<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        await acquire()
        do {
            let result = try await body()
            release()
            return result
        } catch {
            release()
            throw error
        }
    }

    private func acquire() async {
        guard busy else {
            busy = true
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    private func release() {
        if waiting.isEmpty {
            busy = false
        } else {
            // Ownership passes straight to the next waiter: `busy` stays true.
            waiting.removeFirst().resume()
        }
    }
}
