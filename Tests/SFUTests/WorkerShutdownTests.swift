// A worker that has stopped refuses control calls instead of leaving their callers waiting.

import Logging
@testable import SFU
import Testing

struct WorkerShutdownTests {
    /// A control call after shutdown is refused at once; before, it was queued on a loop that
    /// had ended and its caller waited forever.
    @Test func callsAfterShutdownFailInsteadOfHanging() async throws {
        let media = try MediaServer(
            configuration: MediaServerConfiguration(host: "127.0.0.1", udpPort: 0, workers: 2),
            logger: Logger(label: "test"))
        media.start()
        #expect(try await media.roomState("nothing-here") == nil)
        media.shutdown()
        await #expect(throws: MediaServerError.self) { _ = try await media.roomState("nothing-here") }
        await #expect(throws: MediaServerError.self) { try await media.unpublish(room: "a", participantID: "b") }
    }

    /// A worker that is let go frees its core, buffers and socket. Its send queue's flush handler
    /// held the core strongly while the core held the queue: every discarded worker stayed, with
    /// its UDP port open (found by the asan stage's LeakSanitizer).
    @Test func aDiscardedWorkerClosesItsSocket() throws {
        weak var socket: UDPSocket?
        do {
            let udp = try UDPSocket(host: "127.0.0.1", port: 0)
            socket = udp
            _ = try Worker(
                index: 0, socket: udp, announcedIP: "127.0.0.1",
                dtlsContext: DTLSContext(certificate: DTLSCertificate()), logger: Logger(label: "test"))
        }
        #expect(socket == nil)
    }
}
