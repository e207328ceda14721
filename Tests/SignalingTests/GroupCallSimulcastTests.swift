// A group participant's simulcast offer reaches the SFU as one producer with its RID layers, the
// same as a WHIP publisher's: what Chorus answers and what it routes come from one negotiation.

import Foundation
import SFU
import SocketIO
import ChorusTestSupport
import SignalingTestSupport
import Testing
@testable import Signaling

@Suite struct GroupCallSimulcastTests {
    @Test(.timeLimit(.minutes(1))) func chromiumsThreeLayersBecomeTheProducersLayers() async throws {
        let (media, group) = try startedGroupMedia()
        defer { media.shutdown() }

        let alice = RecordingClient("alice")
        try await group.offer(callId: "call-s", user: "alice", client: alice, sdp: SDPFixtures.chromiumSimulcast)
        let answer = try #require(alice.events("sfu-answer").first?.data["sdp"]?.stringValue)
        #expect(answer.contains("a=simulcast:recv q;h;f"))

        let room = try #require(try await media.roomState("call-s"))
        let tracks = try #require(room.participants.first?.tracks)
        let video = try #require(tracks.first { $0.kind == .video })
        #expect(video.layers.map(\.rid) == ["q", "h", "f"])
        #expect(video.layers.map(\.spatial) == [0, 1, 2])
        let audio = try #require(tracks.first { $0.kind == .audio })
        #expect(audio.layers.map(\.rid) == [nil], "audio is one stream")
        await group.end(callId: "call-s")
    }
}
