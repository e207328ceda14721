// GroupCallMedia serialises the operations of one call, not of every call: a call whose
// participant's answer is slow to deliver must not hold up another call's renegotiation. And
// a screen share, marked in `sfu-offer` or with `a=content:slides`, is told to the others.

import Foundation
import Logging
import SDP
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

    /// `streams[].tracks` as (trackId's mid, kind, source) of the one other member.
    static func tracks(_ event: RealtimeEvent) -> [[String]] {
        guard case .array(let streams)? = event.data["streams"], let first = streams.first,
            case .array(let tracks)? = first["tracks"]
        else { return [] }
        return tracks.map { track in
            [String(track["trackId"]?.stringValue?.split(separator: "-").last ?? ""),
             track["kind"]?.stringValue ?? "", track["source"]?.stringValue ?? ""]
        }
    }

    @Test(.timeLimit(.minutes(1))) func aScreenShareNamedInTheOfferIsToldToTheOthersAndShownInRoomState() async throws {
        let (media, group) = try startedGroupMedia()
        defer { media.shutdown() }
        // Alice's video m-line (mid 1) shares her screen.
        let alice = RecordingClient("alice"), bob = RecordingClient("bob")
        try await group.offer(callId: "call-s", user: "alice", client: alice, sdp: SDPFixtures.chromium, screenShare: ["1", "9"])
        try await group.offer(callId: "call-s", user: "bob", client: bob, sdp: SDPFixtures.chromium)

        let answer = try await bob.next("sfu-answer")
        #expect(Self.tracks(answer) == [["0", "audio", "microphone"], ["1", "video", "screen"]])
        // Alice hears of bob's camera, a camera.
        let offer = try await alice.next("sfu-offer")
        #expect(Self.tracks(offer) == [["0", "audio", "microphone"], ["1", "video", "camera"]])

        let state = try #require(try await media.roomState("call-s"))
        let sources = state.participants.sorted { $0.identity < $1.identity }.map { $0.tracks.map(\.source) }
        #expect(sources == [[.microphone, .screen], [.microphone, .camera]])
        await group.end(callId: "call-s")
    }

    @Test func anSDPPublisherMarksItsScreenShareWithContentSlides() throws {
        let slides = SDPFixtures.chromium.replacingOccurrences(of: "a=mid:1\n", with: "a=mid:1\na=content:slides\n")
        #expect(slides != SDPFixtures.chromium)
        let negotiated = try SDPNegotiator.negotiate(offer: slides, policy: .default)
        #expect(negotiated.sendingTracks.map(\.source) == [.microphone, .screen])
    }

    @Test func screenShareMidsAreCheckedFieldByField() throws {
        func mids(_ value: JSONValue?) throws(CallError) -> Set<String> {
            var object: [String: JSONValue] = ["callId": .string("c")]
            object["screenShare"] = value
            return try CallFields(.object(object)).screenShareMids()
        }
        #expect(try mids(nil) == [])
        #expect(try mids(.null) == [])
        #expect(try mids(.array([.string("2"), .string("2"), .string("v1")])) == ["2", "v1"])
        for bad: JSONValue in [.string("2"), .array([.number(2)]), .array([.string("")]), .array([.string(String(repeating: "m", count: 33))]),
                               .array(Array(repeating: .string("1"), count: 17))] {
            #expect(throws: CallError.self) { try mids(bad) }
        }
    }
}

