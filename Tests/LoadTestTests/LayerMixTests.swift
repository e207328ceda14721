// Which layer each subscription of a `--simulcast` run asks for, and the packet rate the SFU
// then owes: audio for all, and per subscription only the video layer it asked for.

import Testing
@testable import LoadTest

@Suite struct LayerMixTests {
    @Test func subscriptionsTakeTheLayersInTurn() {
        #expect((0..<7).map { LayerMix.layer(forSubscription: $0, layers: 3) } == [0, 1, 2, 0, 1, 2, 0])
    }

    /// A clip whose layers have 1, 10 and 100 video packets a second (one frame a second).
    static func clip(simulcast: Bool) -> MediaClip {
        func frames(_ packets: Int) -> [ClipVideoFrame] {
            [ClipVideoFrame(
                packets: Array(repeating: ClipPacket(payload: [0x10, 0, 0], hasTrailer: false), count: packets), isKeyframe: true,
                encodedSize: 3)]
        }
        var settings = ClipSettings()
        settings.framesPerSecond = 1
        settings.simulcast = simulcast
        let layers = simulcast
            ? zip(["q", "h", "f"], [1, 10, 100]).map { ClipVideoLayer(rid: $0, width: 16, height: 16, kilobitsPerSecond: 50, frames: frames($1)) }
            : []
        // 50 audio packets: one second of 20 ms packets.
        return MediaClip(
            settings: settings, audio: Array(repeating: ClipPacket(payload: [0], hasTrailer: true), count: 50), video: frames(100),
            layers: layers)
    }

    @Test func theOfferedRateFollowsTheLayersAskedFor() {
        let clip = Self.clip(simulcast: true)
        #expect(clip.videoPacketsPerSecond(layer: 0) == 1 && clip.videoPacketsPerSecond(layer: 2) == 100)
        // 0: nothing; 1: layer 0; 2: layers 0 and 1; 4: 0, 1, 2, 0; 90 (a meeting of 10): 30 each.
        #expect(LayerMix.offeredPacketsPerSecond(subscriptions: 0, clip: clip) == 0)
        #expect(LayerMix.offeredPacketsPerSecond(subscriptions: 1, clip: clip) == 50 + 1)
        #expect(LayerMix.offeredPacketsPerSecond(subscriptions: 2, clip: clip) == 100 + 1 + 10)
        #expect(LayerMix.offeredPacketsPerSecond(subscriptions: 4, clip: clip) == 200 + 1 + 10 + 100 + 1)
        #expect(LayerMix.offeredPacketsPerSecond(subscriptions: 90, clip: clip) == 90 * 50 + 30 * 111)
    }

    @Test func withoutSimulcastEverySubscriptionGetsTheOneVideo() {
        let clip = Self.clip(simulcast: false)
        #expect(clip.videoPacketsPerSecond(layer: 0) == 100)
        #expect(LayerMix.offeredPacketsPerSecond(subscriptions: 4, clip: clip) == 4 * 150)
    }
}
