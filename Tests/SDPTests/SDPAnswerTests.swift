// SDPNegotiator.answer: the text Chorus sends back, checked by parsing it again.

import ChorusTestSupport
import Testing
@testable import SDP

@Suite("SDP answer")
struct SDPAnswerTests {
    static let local = LocalTransport(
        iceUfrag: "ChoR", icePwd: "chorusIceLitePassword01", fingerprintSHA256: SDPFixtures.whepFingerprint,
        candidateIP: "192.0.2.10", candidatePort: 40000)

    static func answer(_ offer: String, outgoing: [String: OutgoingStream] = [:], local: LocalTransport = local) throws -> (NegotiatedOffer, String, SessionDescription) {
        let negotiated = try SDPNegotiator.negotiate(offer: offer)
        let text = SDPNegotiator.answer(to: negotiated, local: local, outgoing: outgoing, sessionID: 8_123_456_789)
        return (negotiated, text, try SessionDescription(parsing: text))
    }

    static let audioOut = OutgoingStream(ssrc: 1001, cname: "chorus", streamID: "room-alice", trackID: "alice-audio")
    static let videoOut = OutgoingStream(ssrc: 2002, cname: "chorus", streamID: "room-alice", trackID: "alice-video")

    @Test func aiortcAnswerHasTheRequiredLines() throws {
        let (_, text, answer) = try Self.answer(SDPFixtures.aiortc)
        #expect(answer.render() == text, "the answer is in canonical form")
        #expect(!text.contains("\r\n\r\n"), "no empty lines")
        #expect(text.hasSuffix("\r\n"))
        let bytes = Array(text.utf8)
        let lineFeeds = bytes.indices.filter { bytes[$0] == 0x0A }
        #expect(lineFeeds.count == answer.render().utf8.filter { $0 == 0x0A }.count)
        #expect(lineFeeds.allSatisfy { $0 > 0 && bytes[$0 - 1] == 0x0D }, "every line ends in CRLF")
        #expect(!bytes.enumerated().contains { $0.element == 0x0D && ($0.offset + 1 == bytes.count || bytes[$0.offset + 1] != 0x0A) })
        #expect(answer.origin == SDPOrigin(username: "-", sessionID: "8123456789", sessionVersion: "2",
                                           networkType: "IN", addressType: "IP4", address: "127.0.0.1"))
        #expect(answer.sessionName == "-")
        #expect(answer.timing == [SDPTiming(start: 0, stop: 0)])
        #expect(answer.has("ice-lite"))
        #expect(answer.bundleGroup == ["0", "1"])
        #expect(!answer.has("msid-semantic"), "nothing is sent")
        #expect(answer.media.count == 2)

        let audio = answer.media[0]
        #expect(audio.kind == "audio")
        #expect(audio.port == 40000)
        #expect(audio.proto == "UDP/TLS/RTP/SAVPF")
        #expect(audio.formats == ["96"])
        #expect(audio.connection == "IN IP4 192.0.2.10")
        #expect(audio.values(of: "ice-ufrag") == ["ChoR"])
        #expect(audio.values(of: "ice-pwd") == ["chorusIceLitePassword01"])
        #expect(audio.values(of: "fingerprint") == ["sha-256 " + SDPFixtures.whepFingerprint])
        #expect(audio.values(of: "setup") == ["passive"])
        #expect(audio.mid == "0")
        #expect(audio.explicitDirection == .recvonly, "sendrecv offer, nothing to send")
        #expect(audio.has("rtcp-mux"))
        #expect(!audio.has("rtcp-rsize"), "aiortc did not offer it")
        #expect(audio.values(of: "rtpmap") == ["96 opus/48000/2"])
        #expect(!audio.has("fmtp"))
        #expect(audio.values(of: "extmap") == ["1 urn:ietf:params:rtp-hdrext:sdes:mid", "2 urn:ietf:params:rtp-hdrext:ssrc-audio-level"])
        #expect(audio.values(of: "candidate") == ["1 1 udp 2130706431 192.0.2.10 40000 typ host"])
        #expect(audio.has("end-of-candidates"))
        #expect(!audio.has("ssrc") && !audio.has("msid"))

        let video = answer.media[1]
        #expect(video.formats == ["97", "98"], "VP8 and its retransmission format")
        #expect(video.values(of: "rtpmap") == ["97 VP8/90000", "98 rtx/90000"])
        #expect(video.values(of: "fmtp") == ["98 apt=97"])
        #expect(video.values(of: "rtcp-fb") == ["97 nack", "97 nack pli", "97 goog-remb"])
        #expect(video.values(of: "extmap") == ["1 urn:ietf:params:rtp-hdrext:sdes:mid", "3 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"])
        #expect(!video.has("ssrc-group"), "recvonly: Chorus sends nothing, so no FID group of its own")
    }

    @Test func attributeOrderFollowsTheBrief() throws {
        let (_, _, answer) = try Self.answer(SDPFixtures.chromium, outgoing: ["0": Self.audioOut])
        // recvonly for a sendonly offer, even with an outgoing stream: nothing goes out.
        #expect(answer.media[0].attributes.map(\.name) == [
            "ice-ufrag", "ice-pwd", "fingerprint", "setup", "mid", "recvonly", "rtcp-mux", "rtcp-rsize", "rtpmap",
            "fmtp", "rtcp-fb", "extmap", "extmap", "extmap", "extmap", "candidate", "end-of-candidates",
        ])
    }

    @Test func chromiumAnswerRejectsTheDataChannelInPlace() throws {
        let (_, text, answer) = try Self.answer(SDPFixtures.chromium)
        #expect(answer.bundleGroup == ["0", "1"])
        #expect(answer.media.map(\.kind) == ["audio", "video", "application"])
        #expect(answer.media.map(\.port) == [40000, 40000, 0])
        let data = answer.media[2]
        #expect(data.proto == "UDP/DTLS/SCTP")
        #expect(data.formats == ["webrtc-datachannel"])
        #expect(data.attributes == [SDPAttribute(name: "mid", value: "2")])
        #expect(text.contains("\r\nm=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:2\r\n"))

        let audio = answer.media[0]
        #expect(audio.values(of: "fmtp") == ["111 minptime=10;useinbandfec=1"])
        #expect(audio.has("rtcp-rsize"))
        #expect(audio.explicitDirection == .recvonly)
        #expect(audio.values(of: "rtcp-fb") == ["111 transport-cc"], "Chorus sends transport-wide feedback")
        #expect(answer.media[1].values(of: "rtcp-fb") == ["96 nack", "96 nack pli", "96 ccm fir", "96 goog-remb", "96 transport-cc"])
        #expect(answer.media[1].formats == ["96", "97"])
        #expect(answer.media[1].values(of: "fmtp") == ["97 apt=96"])
        #expect(answer.media[1].explicitDirection == .recvonly)
    }

    @Test func whepAnswerSendsWhatTheSFUHas() throws {
        let (_, text, answer) = try Self.answer(SDPFixtures.whep, outgoing: ["0": Self.audioOut, "1": Self.videoOut])
        #expect(answer.media.map(\.direction) == [.sendonly, .sendonly])
        #expect(answer.has("msid-semantic"))
        let video = answer.media[1]
        #expect(video.values(of: "msid") == ["room-alice alice-video"])
        #expect(video.values(of: "ssrc") == ["2002 cname:chorus", "2002 msid:room-alice alice-video"])
        #expect(text.contains("a=ssrc:1001 cname:chorus\r\na=ssrc:1001 msid:room-alice alice-audio\r\n"))
    }

    @Test func whepWithoutAStreamIsInactive() throws {
        let (_, _, answer) = try Self.answer(SDPFixtures.whep, outgoing: ["0": Self.audioOut, "unknown": Self.videoOut])
        #expect(answer.media.map(\.direction) == [.sendonly, .inactive])
        #expect(!answer.media[1].has("ssrc"))
        #expect(answer.bundleGroup == ["0", "1"], "inactive is still accepted and bundled")
    }

    @Test func sendrecvOfferWithAStreamIsSendrecv() throws {
        let (_, _, answer) = try Self.answer(SDPFixtures.aiortc, outgoing: ["1": Self.videoOut])
        #expect(answer.media.map(\.direction) == [.recvonly, .sendrecv])
        #expect(answer.media[1].values(of: "ssrc").first == "2002 cname:chorus")
    }

    @Test func retransmissionStreamIsGroupedWithItsMedia() throws {
        var stream = Self.videoOut
        stream.rtxSSRC = 3003
        let (_, _, answer) = try Self.answer(SDPFixtures.aiortc, outgoing: ["1": stream])
        let video = answer.media[1]
        #expect(video.values(of: "ssrc-group") == ["FID 2002 3003"], "RFC 4588: media first, repair second")
        #expect(video.values(of: "ssrc").contains("3003 cname:chorus"))
        // Audio has no rtx format: an RTX SSRC there is not announced.
        let (_, _, audioOnly) = try Self.answer(SDPFixtures.aiortc, outgoing: ["0": OutgoingStream(
            ssrc: 1001, cname: "chorus", streamID: "s", trackID: "a", rtxSSRC: 4004)])
        #expect(!audioOnly.media[0].has("ssrc-group"))
    }

    @Test func ipv6Candidate() throws {
        var local = Self.local
        local.candidateIP = "2001:db8::7"
        let (_, _, answer) = try Self.answer(SDPFixtures.whep, local: local)
        #expect(answer.media[0].connection == "IN IP6 2001:db8::7")
        #expect(answer.media[0].values(of: "candidate") == ["1 1 udp 2130706431 2001:db8::7 40000 typ host"])
    }

    /// ICE-TCP (RFC 6544): a passive TCP host candidate at the same address follows the UDP one
    /// in every section, with a lower priority so that a peer with both picks UDP; Chorus's own
    /// group-call offers carry it too.
    @Test func iceTCPCandidateFollowsUDPWithALowerPriority() throws {
        var local = Self.local
        local.tcpCandidatePort = 40443
        let (_, _, answer) = try Self.answer(SDPFixtures.aiortc, local: local)
        for section in answer.media {
            #expect(section.values(of: "candidate") == [
                "1 1 udp 2130706431 192.0.2.10 40000 typ host",
                "2 1 tcp 2124414975 192.0.2.10 40443 typ host tcptype passive",
            ])
            #expect(section.port == 40000, "the m= line names the UDP candidate (RFC 8839 §4.2.1.2)")
        }
        #expect(LocalTransport.tcpPriority < LocalTransport.udpPriority)
        let offered = SDPNegotiator.mediaSection(
            kind: .audio, proto: "UDP/TLS/RTP/SAVPF", mid: "f1",
            codec: NegotiatedCodec(payloadType: 111, name: "opus", clockRate: 48000, channels: 2, fmtp: nil, feedback: []),
            extensions: [], rtcpReducedSize: false, local: local, setup: "actpass", direction: .sendonly, stream: nil)
        #expect(offered.values(of: "candidate").last == "2 1 tcp 2124414975 192.0.2.10 40443 typ host tcptype passive")
    }

    @Test func rejectedSectionsKeepTheirPlace() throws {
        let text = SDPNegotiatorTests.offer(
            session: ["a=group:BUNDLE a b c"],
            sections: [SDPNegotiatorTests.audio(mid: "a"), SDPNegotiatorTests.audio(mid: "b"),
                       SDPNegotiatorTests.video(mid: "c", formats: "96 97", maps: ["a=rtpmap:96 VP8/90000", "a=rtpmap:97 rtx/90000"]),
                       ["m=application 9 UDP/DTLS/SCTP webrtc-datachannel"]])
        let (negotiated, _, answer) = try Self.answer(text)
        #expect(negotiated.rejectedIndexes == [1, 3])
        #expect(answer.media.map(\.port) == [40000, 0, 40000, 0])
        #expect(answer.media[1].formats == ["111"])
        #expect(answer.media[1].mid == "b")
        #expect(answer.media[3].mid == nil, "no mid offered, none answered")
        #expect(answer.bundleGroup == ["a", "c"])
    }

    @Test func noGroupWhenTheOfferHadNone() throws {
        let text = SDPNegotiatorTests.offer(session: [], sections: [SDPNegotiatorTests.audio()])
        let (_, _, answer) = try Self.answer(text)
        #expect(answer.bundleGroup == nil)
        #expect(answer.media[0].explicitDirection == .recvonly)
    }

    @Test func answerCarriesTheChosenH264Parameters() throws {
        let negotiated = try SDPNegotiator.negotiate(offer: SDPFixtures.chromium, policy: CodecPolicy(video: ["H264"]))
        let text = SDPNegotiator.answer(to: negotiated, local: Self.local, outgoing: [:], sessionID: 1)
        let video = try SessionDescription(parsing: text).media[1]
        #expect(video.formats == ["102", "103"])
        #expect(video.values(of: "rtpmap") == ["102 H264/90000", "103 rtx/90000"])
        #expect(video.values(of: "fmtp") == ["102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f",
                                             "103 apt=102"], "the rtx format that repairs the chosen H264 one")
    }
}
