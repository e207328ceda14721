// Who is connected: each user's live realtime connections (a user may have several devices and
// transports at once), and the grace timers of users whose last connection dropped.

import Synchronization

final class RealtimeHub: Sendable {
    private struct State {
        var connections: [String: [String: any RealtimeClient]] = [:]
        /// Live connections per client address (those whose address is known).
        var perAddress: [String: Int] = [:]
        /// A user with no connection left, waiting out the grace period; the generation tells a
        /// timer that fired late from one scheduled after a reconnect and a second drop.
        var graceTimers: [String: (generation: UInt64, task: Task<Void, Never>)] = [:]
        var generation: UInt64 = 0
    }

    private let state = Mutex(State())
    private let limits: ServiceLimits

    init(limits: ServiceLimits = ServiceLimits()) {
        self.limits = limits
    }

    /// Why one more connection of `user` from `address` would cross a limit, or nil.
    func admissionProblem(user: String, address: String?) -> LimitExceeded? {
        state.withLock { Self.problem(in: $0, user: user, address: address, limits: limits) }
    }

    private static func problem(in state: State, user: String, address: String?, limits: ServiceLimits) -> LimitExceeded? {
        if state.connections[user]?.count ?? 0 >= limits.connectionsPerUser {
            return LimitExceeded(
                "too_many_connections", "at most \(limits.connectionsPerUser) realtime connections per user; close one first",
                retryAfter: 30)
        }
        if let address, state.perAddress[address] ?? 0 >= limits.connectionsPerAddress {
            return LimitExceeded(
                "too_many_connections", "at most \(limits.connectionsPerAddress) realtime connections per address",
                retryAfter: 30)
        }
        return nil
    }

    /// Registers a connection and cancels the user's grace timer, if any; refuses it (and
    /// changes nothing) when it would cross a limit.
    func add(_ client: any RealtimeClient) throws(LimitExceeded) {
        let result = state.withLock { state -> Result<Task<Void, Never>?, LimitExceeded> in
            if let problem = Self.problem(in: state, user: client.user, address: client.address, limits: limits) {
                return .failure(problem)
            }
            state.connections[client.user, default: [:]][client.connectionID] = client
            if let address = client.address { state.perAddress[address, default: 0] += 1 }
            return .success(state.graceTimers.removeValue(forKey: client.user)?.task)
        }
        try result.get()?.cancel()
    }

    /// Removes a connection; returns how many the user still has.
    func remove(_ client: any RealtimeClient) -> Int {
        state.withLock { state in
            guard state.connections[client.user]?.removeValue(forKey: client.connectionID) != nil else {
                return state.connections[client.user]?.count ?? 0
            }
            if let address = client.address {
                let left = (state.perAddress[address] ?? 1) - 1
                state.perAddress[address] = left > 0 ? left : nil
            }
            let remaining = state.connections[client.user]?.count ?? 0
            if remaining == 0 { state.connections.removeValue(forKey: client.user) }
            return remaining
        }
    }

    func connectionCount(of user: String) -> Int {
        state.withLock { $0.connections[user]?.count ?? 0 }
    }

    /// Whether `user` is still around: connected, or dropped less than the grace period ago.
    func isPresent(_ user: String) -> Bool {
        state.withLock { $0.connections[user] != nil || $0.graceTimers[user] != nil }
    }

    /// Every connection of `users`, except the connection `excluded`.
    func clients(of users: some Sequence<String>, excluding excluded: String? = nil) -> [any RealtimeClient] {
        state.withLock { state in
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
        state.withLock { state in
            guard state.connections[user] == nil else { return }
            state.generation += 1
            let generation = state.generation
            let task = Task { [weak self] in
                try? await Task.sleep(for: delay)
                guard !Task.isCancelled, let self else { return }
                let due = self.state.withLock { state -> Bool in
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
        state.withLock { $0.graceTimers.count }
    }

    /// Stops every grace timer (server shutdown: the calls stay as they are).
    func cancelGraceTimers() {
        let timers = state.withLock { state in
            defer { state.graceTimers.removeAll() }
            return Array(state.graceTimers.values)
        }
        for timer in timers { timer.task.cancel() }
    }
}
