// RID simulcast in a group call's session: Chromium's real offer (three layers q/h/f) is answered
// with the layers, Chorus's own re-offers keep saying it receives them (else Chromium stops its
// upper encodings), and the participant's re-offers keep, narrow, pause and resume them.

import ChorusTestSupport
import Foundation
import Testing
@testable import SDP

struct GroupSessionSimulcastTests {
    /// A session after Chromium's simulcast offer (audio, and video in three layers).
    static func joined() throws -> (GroupSession, SessionDescription, GroupSession.OfferChanges) {
        var session = GroupSession(local: GroupSessionTests.local, sessionID: 7)
        guard case .answered(let answer, let changes) = try session.receiveOffer(SDPFixtures.chromiumSimulcast) else {
            Issue.record("first offer ignored")
            return (session, SessionDescription(origin: SDPOrigin(sessionID: "0", sessionVersion: "0")), .init())
        }
        return (session, try SessionDescription(parsing: answer), changes)
    }

    /// What Chromium answers to Chorus's offer: the mirror of it, its receiving simulcast turned
    /// into sending (RFC 8853 §5.3).
    static func browserAnswer(to offer: String) throws -> String {
        try GroupSessionTests.browserAnswer(to: offer)
            .replacingOccurrences(of: #"a=rid:(\w+) recv"#, with: "a=rid:$1 send", options: .regularExpression)
            .replacingOccurrences(of: "a=simulcast:recv ", with: "a=simulcast:send ")
    }

    static func reoffer(_ session: inout GroupSession, _ text: String) throws -> (SessionDescription, GroupSession.OfferChanges) {
        guard case .answered(let answer, let changes) = try session.receiveOffer(text) else {
            Issue.record("re-offer ignored")
            return (SessionDescription(origin: SDPOrigin(sessionID: "0", sessionVersion: "0")), .init())
        }
        return (try SessionDescription(parsing: answer), changes)
    }

    @Test func chromiumsLayersAreAnsweredAndPublished() throws {
        let (session, answer, changes) = try Self.joined()
        let video = answer.media[1]
        #expect(video.explicitDirection == .recvonly)
        #expect(video.values(of: "rid") == ["q recv", "h recv", "f recv"])
        #expect(video.values(of: "simulcast") == ["recv q;h;f"])
        let extmaps = video.values(of: "extmap")
        #expect(extmaps.contains("10 \(HeaderExtension.rtpStreamID)"))
        #expect(extmaps.contains("11 \(HeaderExtension.repairedRTPStreamID)"))
        #expect(extmaps.contains("4 \(HeaderExtension.sdesMID)"))
        // Audio is one stream.
        #expect(answer.media[0].values(of: "rid").isEmpty && answer.media[0].values(of: "simulcast").isEmpty)

        // The producers are made from these: the video one with its three RIDs and their extensions.
        let published = try #require(changes.published.first { $0.kind == .video })
        #expect(published.simulcast == SimulcastLayers(rids: ["q", "h", "f"]))
        #expect(published.headerExtensionID(HeaderExtension.rtpStreamID) == 10)
        #expect(published.headerExtensionID(HeaderExtension.repairedRTPStreamID) == 11)
        #expect(session.midExtensionID == 4)
    }

    @Test func chorusOffersKeepTheLayersAndForwardOneStream() throws {
        var (session, _, _) = try Self.joined()
        let made = session.makeOffer(wanted: GroupSessionTests.wanted("bob", streamID: "bob"))
        let offer = try #require(made)
        let parsed = try SessionDescription(parsing: offer.sdp)
        #expect(parsed.media.count == 4)
        // The participant's own video: still received in three layers.
        #expect(parsed.media[1].explicitDirection == .recvonly)
        #expect(parsed.media[1].values(of: "rid") == ["q recv", "h recv", "f recv"])
        #expect(parsed.media[1].values(of: "simulcast") == ["recv q;h;f"])
        // What Chorus forwards is one stream: no layers, no RID extensions.
        let forwarded = parsed.media[3]
        #expect(forwarded.explicitDirection == .sendonly)
        #expect(forwarded.values(of: "rid").isEmpty && forwarded.values(of: "simulcast").isEmpty)
        #expect(!forwarded.values(of: "extmap").contains { $0.contains("rtp-stream-id") })
        // Its new ids must not collide with the RID ids of the bundle (RFC 8285 §4.2 / RFC 8843 §9.2).
        let ids = forwarded.values(of: "extmap").compactMap { $0.split(separator: " ").first.flatMap { UInt8($0) } }
        #expect(!ids.contains(10) && !ids.contains(11))

        let result = try session.receiveAnswer(Self.browserAnswer(to: offer.sdp))
        #expect(result.started.map(\.mid) == ["f1", "f2"])
        #expect(result.rejected.isEmpty)
        #expect(session.publishedTracks.map(\.mid) == ["0", "1"])
    }

    @Test func reoffersKeepOrNarrowTheLayersWithoutRepublishing() throws {
        var (session, _, _) = try Self.joined()
        let (same, unchanged) = try Self.reoffer(&session, SDPFixtures.chromiumSimulcast)
        #expect(unchanged == .init(), "the same RIDs: the producer stays as it is")
        #expect(same.media[1].values(of: "simulcast") == ["recv q;h;f"])

        // A re-offer without "f": the answer drops it and the producer keeps its id.
        let twoLayers = SDPFixtures.chromiumSimulcast
            .replacingOccurrences(of: "a=rid:f send\n", with: "")
            .replacingOccurrences(of: "a=simulcast:send q;h;f", with: "a=simulcast:send q;h")
        let (narrowed, changes) = try Self.reoffer(&session, twoLayers)
        #expect(changes == .init())
        #expect(narrowed.media[1].values(of: "rid") == ["q recv", "h recv"])
        #expect(narrowed.media[1].values(of: "simulcast") == ["recv q;h"])

        // "f" offered again on the same producer is not taken back: its layers were fixed when it was made.
        let (again, _) = try Self.reoffer(&session, SDPFixtures.chromiumSimulcast)
        #expect(again.media[1].values(of: "simulcast") == ["recv q;h"])
    }

    @Test func aPausedAndResumedCameraIsPublishedAgainWithItsLayers() throws {
        var (session, _, _) = try Self.joined()
        let stopped = SDPFixtures.chromiumSimulcast.replacingOccurrences(of: "a=sendonly", with: "a=inactive")
        let (paused, changes) = try Self.reoffer(&session, stopped)
        #expect(Set(changes.unpublished) == ["0", "1"])
        #expect(paused.media[1].explicitDirection == .inactive)
        #expect(paused.media[1].values(of: "rid").isEmpty, "an inactive section receives no layers")
        #expect(!paused.media[1].values(of: "extmap").contains { $0.contains("rtp-stream-id") })

        let (resumed, republished) = try Self.reoffer(&session, SDPFixtures.chromiumSimulcast)
        #expect(republished.published.map(\.mid) == ["0", "1"])
        #expect(republished.published[1].simulcast == SimulcastLayers(rids: ["q", "h", "f"]))
        #expect(resumed.media[1].values(of: "simulcast") == ["recv q;h;f"])
        #expect(resumed.media[1].values(of: "extmap").contains("10 \(HeaderExtension.rtpStreamID)"))
    }

    @Test func withoutTheRIDExtensionTheCameraIsOneStream() throws {
        var session = GroupSession(local: GroupSessionTests.local, sessionID: 7)
        let noRID = SDPFixtures.chromiumSimulcast
            .replacingOccurrences(of: "a=extmap:10 \(HeaderExtension.rtpStreamID)\n", with: "")
        guard case .answered(let text, let changes) = try session.receiveOffer(noRID) else {
            Issue.record("ignored")
            return
        }
        let answer = try SessionDescription(parsing: text)
        #expect(answer.media[1].values(of: "simulcast").isEmpty)
        #expect(changes.published[1].simulcast == nil)
        #expect(!answer.media[1].values(of: "extmap").contains { $0.contains("rtp-stream-id") })
    }
}
