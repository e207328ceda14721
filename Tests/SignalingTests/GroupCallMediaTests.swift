// GroupCallMedia serialises the operations of one call, not of every call: a call whose
// participant's answer is slow to deliver must not hold up another call's renegotiation.

import Foundation
import Logging
import SFU
import Synchronization
import ChorusTestSupport
import SignalingTestSupport
import Testing
@testable import Signaling
@testable import SocketIO

/// A client whose first `sfu-answer` delivery waits until the test opens the gate.
private final class GatedClient: RealtimeClient {
    let connectionID = UUID().uuidString
    let user: String
    let isAdmin = false
    private let state = Mutex<(entered: Bool, gate: CheckedContinuation<Void, Never>?, opened: Bool)>((false, nil, false))

    init(_ user: String) { self.user = user }

    func deliver(_ event: RealtimeEvent) async {
        guard event.event == "sfu-answer" else { return }
        await withCheckedContinuation { continuation in
            let open = state.withLock { state -> Bool in
                state.entered = true
                if state.opened { return true }
                state.gate = continuation
                return false
            }
            if open { continuation.resume() }
        }
    }

    var hasEntered: Bool { state.withLock { $0.entered } }

    func open() {
        let gate = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.opened = true
            defer { state.gate = nil }
            return state.gate
        }
        gate?.resume()
    }
}

/// A started SFU on a free port and the group calls' media over it; shut the server down after.
func startedGroupMedia() throws -> (MediaServer, GroupCallMedia) {
    let media = try MediaServer(
        configuration: MediaServerConfiguration(host: "127.0.0.1", udpPort: 0, announcedIP: "127.0.0.1"),
        logger: quietLogger("test.media"))
    media.start()
    return (media, GroupCallMedia(media: media, logger: quietLogger("test.group")))
}

@Suite struct GroupCallMediaTests {
    @Test(.timeLimit(.minutes(1))) func oneCallsSlowAnswerDoesNotHoldUpAnother() async throws {
        let (media, group) = try startedGroupMedia()
        defer { media.shutdown() }

        let alice = GatedClient("alice")
        let slow = Task { try await group.offer(callId: "call-a", user: "alice", client: alice, sdp: SDPFixtures.chromium) }
        try await waitFor(timeout: .seconds(10), "alice's answer to be on its way") { alice.hasEntered ? true : nil }

        // Call A is stuck delivering alice's answer; call B goes ahead all the same.
        let bob = RecordingClient("bob")
        try await group.offer(callId: "call-b", user: "bob", client: bob, sdp: SDPFixtures.chromium)
        #expect(bob.events("sfu-answer").count == 1)

        // Another member of call A waits for alice's operation, then goes through.
        let carol = RecordingClient("carol")
        let queued = Task { try await group.offer(callId: "call-a", user: "carol", client: carol, sdp: SDPFixtures.chromium) }
        alice.open()
        try await slow.value
        try await queued.value
        #expect(carol.events("sfu-answer").count == 1)
        await group.end(callId: "call-a")
        await group.end(callId: "call-b")
    }
}
