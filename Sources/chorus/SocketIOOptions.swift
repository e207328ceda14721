// `chorus serve`'s Socket.IO options: the connect timeout and the limits on what waits for a
// client and on pending handshakes (see SocketIOConfiguration for what each means and why the
// defaults are what they are).

import ArgumentParser
import Signaling
import SocketIO

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
        if let seconds = try positiveOption(socketioConnectTimeout, "CHORUS_SOCKETIO_CONNECT_TIMEOUT", flag: "--socketio-connect-timeout") {
            configuration.connectTimeout = .seconds(seconds)
        }
        if let count = try positiveOption(socketioMaxQueuedPackets, "CHORUS_SOCKETIO_MAX_QUEUED_PACKETS", flag: "--socketio-max-queued-packets") {
            configuration.maxQueuedPackets = count
        }
        if let bytes = try positiveOption(socketioMaxQueuedBytes, "CHORUS_SOCKETIO_MAX_QUEUED_BYTES", flag: "--socketio-max-queued-bytes") {
            configuration.maxQueuedBytes = bytes
        }
        if let count = try positiveOption(socketioMaxPending, "CHORUS_SOCKETIO_MAX_PENDING", flag: "--socketio-max-pending") {
            configuration.maxPendingSessions = count
        }
        if let count = try positiveOption(
            socketioMaxPendingPerAddress, "CHORUS_SOCKETIO_MAX_PENDING_PER_ADDRESS", flag: "--socketio-max-pending-per-address")
        {
            configuration.maxPendingSessionsPerAddress = count
        }
    }
}
