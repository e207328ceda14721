// `chorus serve`'s Socket.IO options: the connect timeout and the limits on what waits for a
// client and on pending handshakes (see SocketIOConfiguration for what each means and why the
// defaults are what they are).

import ArgumentParser
import Signaling

struct SocketIOOptions: ParsableArguments {
    @Option(help: "Seconds a Socket.IO handshake may wait for its CONNECT before it is closed (env CHORUS_SOCKETIO_CONNECT_TIMEOUT; default 45).")
    var socketioConnectTimeout: Int?
    @Option(help: "Packets that may wait for one Socket.IO client before it is disconnected (env CHORUS_SOCKETIO_MAX_QUEUED_PACKETS; default 1024).")
    var socketioMaxQueuedPackets: Int?
    @Option(help: "Bytes that may wait for one Socket.IO client before it is disconnected (env CHORUS_SOCKETIO_MAX_QUEUED_BYTES; default 4194304).")
    var socketioMaxQueuedBytes: Int?
    @Option(help: "Socket.IO handshakes without a CONNECT yet, in all; more get 429 (env CHORUS_SOCKETIO_MAX_PENDING; default 10000).")
    var socketioMaxPending: Int?
    @Option(help: "Socket.IO handshakes without a CONNECT yet from one address (IPv4, or IPv6 /64); more get 429 (env CHORUS_SOCKETIO_MAX_PENDING_PER_ADDRESS; default 100).")
    var socketioMaxPendingPerAddress: Int?

    func apply(to configuration: inout SocketIOConfiguration) throws {
        if let seconds = try Self.positive(socketioConnectTimeout, "CHORUS_SOCKETIO_CONNECT_TIMEOUT", flag: "--socketio-connect-timeout") {
            configuration.connectTimeout = .seconds(seconds)
        }
        if let count = try Self.positive(socketioMaxQueuedPackets, "CHORUS_SOCKETIO_MAX_QUEUED_PACKETS", flag: "--socketio-max-queued-packets") {
            configuration.maxQueuedPackets = count
        }
        if let bytes = try Self.positive(socketioMaxQueuedBytes, "CHORUS_SOCKETIO_MAX_QUEUED_BYTES", flag: "--socketio-max-queued-bytes") {
            configuration.maxQueuedBytes = bytes
        }
        if let count = try Self.positive(socketioMaxPending, "CHORUS_SOCKETIO_MAX_PENDING", flag: "--socketio-max-pending") {
            configuration.maxPendingSessions = count
        }
        if let count = try Self.positive(
            socketioMaxPendingPerAddress, "CHORUS_SOCKETIO_MAX_PENDING_PER_ADDRESS", flag: "--socketio-max-pending-per-address")
        {
            configuration.maxPendingSessionsPerAddress = count
        }
    }

    /// The flag's value, else the environment's; a value that is not a positive integer is an
    /// error (0 would refuse every client or disconnect each at its first event).
    private static func positive(_ value: Int?, _ variable: String, flag: String) throws -> Int? {
        guard let text = value.map(String.init) ?? environment(variable) else { return nil }
        guard let number = Int(text), number > 0 else { throw ValidationError("\(flag) must be a positive integer, not '\(text)'") }
        return number
    }
}
