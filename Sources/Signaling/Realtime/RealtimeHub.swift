// Who is connected: each user's live realtime connections (a user may have several devices and
// transports at once), and the grace timers of users whose last connection dropped.

import NIOConcurrencyHelpers

final class RealtimeHub: Sendable {
    private struct State {
        var connections: [String: [String: any RealtimeClient]] = [:]
        /// A user with no connection left, waiting out the grace period; the generation tells a
        /// timer that fired late from one scheduled after a reconnect and a second drop.
        var graceTimers: [String: (generation: UInt64, task: Task<Void, Never>)] = [:]
        var generation: UInt64 = 0
    }

    private let state = NIOLockedValueBox(State())

    /// Registers a connection and cancels the user's grace timer, if any.
    func add(_ client: any RealtimeClient) {
        let timer = state.withLockedValue { state in
            state.connections[client.user, default: [:]][client.connectionID] = client
            return state.graceTimers.removeValue(forKey: client.user)
        }
        timer?.task.cancel()
    }

    /// Removes a connection; returns how many the user still has.
    func remove(_ client: any RealtimeClient) -> Int {
        state.withLockedValue { state in
            state.connections[client.user]?.removeValue(forKey: client.connectionID)
            let remaining = state.connections[client.user]?.count ?? 0
            if remaining == 0 { state.connections.removeValue(forKey: client.user) }
            return remaining
        }
    }

    func connectionCount(of user: String) -> Int {
        state.withLockedValue { $0.connections[user]?.count ?? 0 }
    }

    /// Whether `user` is still around: connected, or dropped less than the grace period ago.
    func isPresent(_ user: String) -> Bool {
        state.withLockedValue { $0.connections[user] != nil || $0.graceTimers[user] != nil }
    }

    /// Every connection of `users`, except the connection `excluded`.
    func clients(of users: some Sequence<String>, excluding excluded: String? = nil) -> [any RealtimeClient] {
        state.withLockedValue { state in
            var result: [any RealtimeClient] = []
            for user in Set(users) {
                for (id, client) in state.connections[user] ?? [:] where id != excluded {
                    result.append(client)
                }
            }
            return result
        }
    }

    /// Starts `body` after `delay` unless the user reconnects first (which cancels it) or the
    /// user has connections again when it fires.
    func scheduleGrace(for user: String, after delay: Duration, _ body: @escaping @Sendable () async -> Void) {
        state.withLockedValue { state in
            guard state.connections[user] == nil else { return }
            state.generation += 1
            let generation = state.generation
            let task = Task { [weak self] in
                try? await Task.sleep(for: delay)
                guard !Task.isCancelled, let self else { return }
                let due = self.state.withLockedValue { state -> Bool in
                    guard state.graceTimers[user]?.generation == generation, state.connections[user] == nil else {
                        return false
                    }
                    state.graceTimers.removeValue(forKey: user)
                    return true
                }
                if due { await body() }
            }
            state.graceTimers[user]?.task.cancel()
            state.graceTimers[user] = (generation, task)
        }
    }

    var pendingGraceCount: Int {
        state.withLockedValue { $0.graceTimers.count }
    }

    /// Stops every grace timer (server shutdown: the calls stay as they are).
    func cancelGraceTimers() {
        let timers = state.withLockedValue { state in
            defer { state.graceTimers.removeAll() }
            return Array(state.graceTimers.values)
        }
        for timer in timers { timer.task.cancel() }
    }
}
