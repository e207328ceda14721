// The group-call negotiation state machine without a network: the participant's first offer,
// Chorus's offers adding and removing the others' tracks, the answers, glare (Chorus is the
// impolite peer), recycled and rejected m-lines, payload type collisions, and bad input.

import ChorusTestSupport
import Foundation
import Testing
@testable import SDP

struct GroupSessionTests {
    static let local = LocalTransport(
        iceUfrag: "srvU", icePwd: "server-password-1234567890", fingerprintSHA256: SDPFixtures.whepFingerprint,
        candidateIP: "127.0.0.1", candidatePort: 40000)

    static let opus = NegotiatedCodec(payloadType: 111, name: "opus", clockRate: 48000, channels: 2, fmtp: "minptime=10;useinbandfec=1", feedback: [])
    static let vp8 = NegotiatedCodec(payloadType: 96, name: "VP8", clockRate: 90000, feedback: ["nack", "nack pli", "ccm fir"])

    static func wanted(_ user: String, streamID: String) -> [WantedTrack] {
        [
            WantedTrack(producerID: "\(streamID)-0", userID: user, streamID: streamID, kind: .audio, codec: opus),
            WantedTrack(producerID: "\(streamID)-1", userID: user, streamID: streamID, kind: .video, codec: vp8),
        ]
    }

    /// A session after Chromium's first offer (audio + video sendonly, a data channel).
    static func joined() throws -> (GroupSession, String) {
        var session = GroupSession(local: local, sessionID: 42)
        guard case .answered(let answer, let changes) = try session.receiveOffer(SDPFixtures.chromium) else {
            Issue.record("first offer ignored")
            return (session, "")
        }
        #expect(changes.published.map(\.mid) == ["0", "1"])
        return (session, answer)
    }

    /// What a browser answers to `offer`: every section mirrored, its own ICE and DTLS values.
    static func browserAnswer(to offer: String, rejecting rejected: Set<String> = []) throws -> String {
        var description = try SessionDescription(parsing: offer)
        description.attributes.removeAll { $0.name == "ice-lite" }
        for index in description.media.indices {
            let mid = description.media[index].mid ?? ""
            var section = description.media[index]
            if rejected.contains(mid) { section.port = 0 }
            section.attributes = section.attributes.compactMap { attribute in
                switch attribute.name {
                case "ice-ufrag": return SDPAttribute(name: "ice-ufrag", value: "EsAw")
                case "ice-pwd": return SDPAttribute(name: "ice-pwd", value: "bP+XJMM09aR8AiX1jdukzR6Y")
                case "fingerprint": return SDPAttribute(name: "fingerprint", value: "sha-256 " + SDPFixtures.chromiumFingerprint)
                case "setup": return SDPAttribute(name: "setup", value: "active")
                case "candidate", "end-of-candidates", "ssrc", "msid": return nil
                default:
                    if let direction = MediaDirection(rawValue: attribute.name) { return SDPAttribute(name: direction.reversed.rawValue) }
                    return attribute
                }
            }
            description.media[index] = section
        }
        return description.render()
    }

    @Test func firstOfferIsAnsweredRecvonlyOnOneBundle() throws {
        let (session, answer) = try Self.joined()
        let parsed = try SessionDescription(parsing: answer)
        #expect(parsed.has("ice-lite"))
        #expect(parsed.values(of: "group") == ["BUNDLE 0 1"])
        #expect(parsed.media.map(\.port) == [40000, 40000, 0])  // the data channel is rejected
        #expect(parsed.media[0].explicitDirection == .recvonly && parsed.media[1].explicitDirection == .recvonly)
        #expect(parsed.media[0].values(of: "setup") == ["passive"])
        #expect(parsed.media[1].values(of: "rtpmap") == ["96 VP8/90000", "97 rtx/90000"])
        #expect(parsed.media[1].values(of: "rtcp-fb").contains("96 transport-cc"))
        #expect(session.midExtensionID == 4)
        #expect(session.publishedTracks.map(\.mid) == ["0", "1"])
        #expect(!session.hasPendingOffer)
    }

    @Test func offerAddsTheOthersTracksAndAnswerStartsThem() throws {
        var (session, _) = try Self.joined()
        let made = session.makeOffer(wanted: Self.wanted("bob", streamID: "bobstream"))
        let offer = try #require(made)
        #expect(offer.stopped.isEmpty)
        let parsed = try SessionDescription(parsing: offer.sdp)
        #expect(parsed.media.count == 5)
        #expect(parsed.values(of: "group") == ["BUNDLE 0 1 f1 f2"])
        let added = Array(parsed.media[3...])
        #expect(added.map { $0.explicitDirection } == [.sendonly, .sendonly])
        #expect(added.allSatisfy { $0.values(of: "setup") == ["actpass"] })
        #expect(added[0].values(of: "msid") == ["bobstream bobstream-0"])
        #expect(added[1].values(of: "extmap") == ["4 urn:ietf:params:rtp-hdrext:sdes:mid",
                                                  "3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"],
                "the participant's own transport-wide id, so one sequence spans the bundle")
        #expect(added[1].values(of: "rtpmap") == ["96 VP8/90000", "97 rtx/90000"])
        #expect(added[1].values(of: "fmtp") == ["97 apt=96"])
        #expect(added[1].values(of: "ssrc-group").count == 1 && added[1].values(of: "ssrc-group")[0].hasPrefix("FID "))
        #expect(added[0].values(of: "rtpmap") == ["111 opus/48000/2"])
        #expect(added[0].values(of: "ssrc").count == 2)
        // The participant's own sections stay as negotiated.
        #expect(parsed.media[0].explicitDirection == .recvonly)

        #expect(session.hasPendingOffer)
        #expect(session.makeOffer(wanted: Self.wanted("bob", streamID: "bobstream")) == nil)  // one offer at a time

        let result = try session.receiveAnswer(Self.browserAnswer(to: offer.sdp))
        #expect(result.started.map(\.mid) == ["f1", "f2"])
        #expect(result.started.map(\.track.userID) == ["bob", "bob"])
        #expect(result.started[1].payloadType == 96 && result.started[1].midExtensionID == 4)
        #expect(result.rejected.isEmpty)
        #expect(!session.hasPendingOffer)
        #expect(session.makeOffer(wanted: Self.wanted("bob", streamID: "bobstream")) == nil)  // nothing changed
    }

    @Test func glareIsResolvedByIgnoringTheParticipantsOffer() throws {
        var (session, _) = try Self.joined()
        let made = session.makeOffer(wanted: Self.wanted("bob", streamID: "b"))
        let offer = try #require(made)
        #expect(try session.receiveOffer(SDPFixtures.chromium) == .ignored)
        // The browser rolls back, answers ours, and offers again: that one is answered.
        _ = try session.receiveAnswer(Self.browserAnswer(to: offer.sdp))
        var reoffer = try SessionDescription(parsing: Self.browserAnswer(to: offer.sdp))
        for index in reoffer.media.indices where reoffer.media[index].port != 0 {
            reoffer.media[index].attributes.removeAll { $0.name == "setup" }
            reoffer.media[index].attributes.append(SDPAttribute(name: "setup", value: "actpass"))
        }
        guard case .answered(let answer, let changes) = try session.receiveOffer(reoffer.render()) else {
            Issue.record("the re-offer after the rollback was ignored")
            return
        }
        #expect(changes == GroupSession.OfferChanges())
        let parsed = try SessionDescription(parsing: answer)
        #expect(parsed.media.count == 5)
        #expect(parsed.media[3].explicitDirection == .sendonly)  // still forwarding bob
        #expect(parsed.media[3].values(of: "ssrc").count == 2)
        #expect(parsed.media[0].explicitDirection == .recvonly)
    }

    @Test func goneTracksGetPortZeroAndRejectedOnesStop() throws {
        var (session, _) = try Self.joined()
        let madeFirst = session.makeOffer(wanted: Self.wanted("bob", streamID: "b") + Self.wanted("carol", streamID: "c"))
        let first = try #require(madeFirst)
        let result = try session.receiveAnswer(Self.browserAnswer(to: first.sdp, rejecting: ["f4"]))
        #expect(result.started.map(\.mid) == ["f1", "f2", "f3"])
        #expect(result.rejected == ["f4"])

        let madeSecond = session.makeOffer(wanted: Self.wanted("bob", streamID: "b"))
        let second = try #require(madeSecond)
        #expect(second.stopped == ["f3"])
        let parsed = try SessionDescription(parsing: second.sdp)
        #expect(parsed.media.map(\.port) == [40000, 40000, 0, 40000, 40000, 0, 0])
        #expect(parsed.values(of: "group") == ["BUNDLE 0 1 f1 f2"])
        // Disabled sections keep what picky stacks (aiortc) need to parse them.
        #expect(parsed.media[5].values(of: "rtpmap") == ["111 opus/48000/2"])
        #expect(parsed.media[5].has("inactive"))
        _ = try session.receiveAnswer(Self.browserAnswer(to: second.sdp))

        // When carol comes back her tracks get new sections: m-lines are never reused by Chorus.
        let madeThird = session.makeOffer(wanted: Self.wanted("bob", streamID: "b") + Self.wanted("carol", streamID: "c"))
        let third = try #require(madeThird)
        #expect(try SessionDescription(parsing: third.sdp).media.count == 9)
    }

    @Test func payloadTypesNeverCollideInTheBundle() {
        let own = GroupSection(
            mid: "0", kindText: "video", proto: "UDP/TLS/RTP/SAVPF", format: "96",
            codec: NegotiatedCodec(payloadType: 96, name: "H264", clockRate: 90000, fmtp: "packetization-mode=1"),
            extensions: [], rtcpReducedSize: true, role: .publishing)
        #expect(GroupSession.payloadType(for: Self.vp8, in: [own]) == 97)  // 96 is H264 here
        #expect(GroupSession.payloadType(for: own.codec!, in: [own]) == 96)  // same codec: same type
        #expect(GroupSession.payloadType(for: Self.opus, in: [own]) == 111)
        var closed = own
        closed.role = .closed
        #expect(GroupSession.payloadType(for: Self.vp8, in: [closed]) == 96)
    }

    @Test func directionsInAnswersNarrowTheOffer() {
        #expect(GroupSession.direction(of: .publishing, offered: .sendrecv) == .recvonly)
        #expect(GroupSession.direction(of: .publishing, offered: .recvonly) == .inactive)
        #expect(GroupSession.direction(of: .idle, offered: .recvonly) == .inactive)
        #expect(GroupSession.direction(of: .forwarding(ForwardedTrack(producerID: "p", userID: "u", stream: OutgoingStream(ssrc: 1, cname: "c", streamID: "s", trackID: "t"))), offered: .recvonly) == .sendonly)
        #expect(GroupSession.direction(of: .publishing, offered: nil) == .recvonly)
    }

    @Test func changedSectionsICERestartsAndStrayAnswersAreRefused() throws {
        var (session, _) = try Self.joined()
        #expect(throws: GroupSessionError.noOfferPending) { _ = try session.receiveAnswer(SDPFixtures.chromium) }
        let twoSections = SDPFixtures.chromium.components(separatedBy: "m=application")[0]
            .replacingOccurrences(of: "a=group:BUNDLE 0 1 2", with: "a=group:BUNDLE 0 1")
        #expect(throws: GroupSessionError.self) { _ = try session.receiveOffer(twoSections) }
        let renamed = SDPFixtures.chromium.replacingOccurrences(of: "a=mid:1", with: "a=mid:7")
            .replacingOccurrences(of: "BUNDLE 0 1 2", with: "BUNDLE 0 7 2")
        #expect(throws: GroupSessionError.self) { _ = try session.receiveOffer(renamed) }
        let restarted = SDPFixtures.chromium.replacingOccurrences(of: "a=ice-ufrag:EsAw", with: "a=ice-ufrag:NewU")
        #expect(throws: GroupSessionError.iceRestart) { _ = try session.receiveOffer(restarted) }
        #expect(throws: GroupSessionError.self) { _ = try session.receiveOffer("v=0\r\n") }
        // Still usable after refusals.
        #expect(session.publishedTracks.count == 2)
    }

    @Test func aParticipantThatStopsSendingUnpublishes() throws {
        var (session, _) = try Self.joined()
        let quiet = SDPFixtures.chromium.replacingOccurrences(of: "a=sendonly", with: "a=inactive")
        guard case .answered(let answer, let changes) = try session.receiveOffer(quiet) else {
            Issue.record("ignored")
            return
        }
        #expect(Set(changes.unpublished) == ["0", "1"])
        #expect(session.publishedTracks.isEmpty)
        // Paused, not removed: the m-lines stay open (inactive) so the browser can resume them.
        let parsed = try SessionDescription(parsing: answer)
        #expect(parsed.media.map(\.port) == [40000, 40000, 0])
        #expect(parsed.media[0].explicitDirection == .inactive)
        guard case .answered(_, let resumed) = try session.receiveOffer(SDPFixtures.chromium) else {
            Issue.record("ignored")
            return
        }
        #expect(resumed.published.map(\.mid) == ["0", "1"])
    }

    @Test func randomInputNeverCrashes() throws {
        var generator = SeededGenerator(seed: 0x6A0F)
        var (session, _) = try Self.joined()
        let base = Array(SDPFixtures.chromium.utf8)
        for _ in 0..<300 {
            var bytes = base
            for _ in 0..<Int.random(in: 1...8, using: &generator) {
                let index = Int.random(in: 0..<bytes.count, using: &generator)
                bytes[index] = UInt8.random(in: 0x20...0x7E, using: &generator)
            }
            let text = String(decoding: bytes, as: UTF8.self)
            _ = try? session.receiveOffer(text)
            _ = try? session.receiveAnswer(text)
            _ = session.makeOffer(wanted: Self.wanted("x", streamID: "x"))
        }
    }
}
