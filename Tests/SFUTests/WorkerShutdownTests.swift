// A worker that has stopped refuses control calls instead of leaving their callers waiting.

import Logging
import SFU
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
}
