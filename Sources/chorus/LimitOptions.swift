// `chorus serve`'s limits on what one user, one address and one worker may hold (see
// ServiceLimits in Signaling for what each means and why the defaults are what they are).

import ArgumentParser
import Signaling

struct LimitOptions: ParsableArguments {
    @Option(help: "Calls one user may start per minute (env CHORUS_MAX_CALLS_PER_MINUTE; default 30).")
    var maxCallsPerMinute: Int?
    @Option(help: "Ringing or active calls a user may be in when starting one (env CHORUS_MAX_OPEN_CALLS; default 10).")
    var maxOpenCalls: Int?
    @Option(help: "Realtime connections per user (env CHORUS_MAX_CONNECTIONS_PER_USER; default 16).")
    var maxConnectionsPerUser: Int?
    @Option(help: "Realtime connections per client address (env CHORUS_MAX_CONNECTIONS_PER_ADDRESS; default 256).")
    var maxConnectionsPerAddress: Int?
    @Option(help: "WHIP publishers per user (env CHORUS_MAX_PUBLISHERS_PER_USER; default 10).")
    var maxPublishersPerUser: Int?
    @Option(help: "Media transports per user (env CHORUS_MAX_TRANSPORTS_PER_USER; default 128).")
    var maxTransportsPerUser: Int?
    @Option(help: "Media transports per worker (env CHORUS_MAX_TRANSPORTS_PER_WORKER; default 10000).")
    var maxTransportsPerWorker: Int?

    func apply(to configuration: inout ChorusConfiguration) throws {
        let fields: [(Int?, String, String, WritableKeyPath<ServiceLimits, Int>)] = [
            (maxCallsPerMinute, "CHORUS_MAX_CALLS_PER_MINUTE", "--max-calls-per-minute", \.callsPerUserPerMinute),
            (maxOpenCalls, "CHORUS_MAX_OPEN_CALLS", "--max-open-calls", \.openCallsPerUser),
            (maxConnectionsPerUser, "CHORUS_MAX_CONNECTIONS_PER_USER", "--max-connections-per-user", \.connectionsPerUser),
            (maxConnectionsPerAddress, "CHORUS_MAX_CONNECTIONS_PER_ADDRESS", "--max-connections-per-address", \.connectionsPerAddress),
            (maxPublishersPerUser, "CHORUS_MAX_PUBLISHERS_PER_USER", "--max-publishers-per-user", \.publishersPerUser),
            (maxTransportsPerUser, "CHORUS_MAX_TRANSPORTS_PER_USER", "--max-transports-per-user", \.transportsPerUser),
        ]
        for (option, variable, flag, field) in fields {
            if let value = try positiveOption(option, variable, flag: flag) { configuration.limits[keyPath: field] = value }
        }
        if let value = try positiveOption(maxTransportsPerWorker, "CHORUS_MAX_TRANSPORTS_PER_WORKER", flag: "--max-transports-per-worker") {
            configuration.maximumTransportsPerWorker = value
        }
    }
}

/// The flag's value, else the environment's; a value that is not a positive integer is an
/// error (0 would refuse every client, or disconnect each at its first event).
func positiveOption(_ value: Int?, _ variable: String, flag: String) throws -> Int? {
    guard let text = value.map(String.init) ?? environment(variable) else { return nil }
    guard let number = Int(text), number > 0 else { throw ValidationError("\(flag) must be a positive integer, not '\(text)'") }
    return number
}
