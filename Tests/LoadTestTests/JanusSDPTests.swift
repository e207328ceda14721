// The subscriber side of Janus's VideoRoom: its offer (captured from a real Janus 1.1.2, with
// RTX, transport-cc and abs-send-time offered) read for payload types and SSRCs, and the
// recvonly answer the load test sends back; plus the publisher offer's DTLS role.

import ICE
import SFU
import Testing
@testable import LoadTest

@Suite struct JanusSDPTests {
    static let local = LocalPeer(
        ice: ICECredentials(ufrag: "abcdefgh", pwd: "abcdefghijklmnopqrstuvwx"),
        fingerprint: DTLSFingerprint(algorithm: "sha-256", bytes: Array(0..<32)), port: 50_000)

    static func capturedOffer() throws -> String {
        let events = try JanusReply.events(parsing: JanusFixtures.subscriberAttached)
        return try #require(events.first?.jsep?.sdp)
    }

    @Test func readsJanusOffer() throws {
        let offer = try JanusSubscriberOffer(parsing: try Self.capturedOffer())
        #expect(offer.transport.ice == ICECredentials(ufrag: "NUCx", pwd: "Le+hHgwhcva/BlW+Q+nk0X"))
        #expect(offer.transport.candidate == TransportAddress(ip: .v4(127, 0, 0, 1), port: 40200))
        #expect(offer.sections.map(\.kind) == ["audio", "video"] && offer.sections.map(\.mid) == ["0", "1"])
        let audio = try #require(offer.audio)
        #expect(audio.payloadType(of: "opus") == 111 && audio.mediaSSRC == 2_033_032_073 && audio.retransmissionSSRC == nil)
        #expect(audio.extensions[OfferFormat.midExtensionURI] == 4)
        let video = try #require(offer.video)
        #expect(video.formats == ["96", "97"] && video.encodings == [96: "vp8", 97: "rtx"])
        #expect(video.payloadType(of: "VP8") == 96 && video.payloadType(of: "rtx") == 97)
        #expect(video.formatParameters[97] == "apt=96")
        // RFC 4588: the FID group names the media SSRC first, its retransmissions second.
        #expect(video.mediaSSRC == 3_613_863_594 && video.retransmissionSSRC == 2_092_210_479)
        #expect(video.ssrcs == [3_613_863_594, 2_092_210_479])
        #expect(video.feedback[96] == ["ccm fir", "nack", "nack pli", "goog-remb", "transport-cc"])
        #expect(video.extensions.count == 3 && video.extensions[OfferFormat.midExtensionURI] == 4)
    }

    @Test func answerAcceptsOpusAndVP8Only() throws {
        let offer = try JanusSubscriberOffer(parsing: try Self.capturedOffer())
        let text = try JanusSDP.answer(to: offer, local: Self.local, sessionID: 7)
        let lines = text.components(separatedBy: "\r\n")
        #expect(text.hasSuffix("\r\n") && lines.first == "v=0")
        for required in [
            "o=- 7 2 IN IP4 127.0.0.1", "a=group:BUNDLE 0 1", "m=audio 50000 UDP/TLS/RTP/SAVPF 111",
            "m=video 50000 UDP/TLS/RTP/SAVPF 96", "a=rtpmap:111 opus/48000/2", "a=rtpmap:96 VP8/90000",
            "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid", "a=ice-ufrag:abcdefgh", "a=ice-pwd:abcdefghijklmnopqrstuvwx",
            "a=fingerprint:sha-256 " + Self.local.fingerprint.hex, "a=rtcp-fb:96 nack", "a=rtcp-fb:96 nack pli",
            "a=rtcp-fb:96 ccm fir", "a=candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host",
        ] {
            #expect(lines.contains(required), "missing \(required)")
        }
        // ClientTransport is the DTLS client: active, twice (one per section), never actpass.
        #expect(lines.filter { $0 == "a=setup:active" }.count == 2 && !text.contains("actpass"))
        #expect(lines.filter { $0 == "a=recvonly" }.count == 2 && !text.contains("sendonly"))
        // No RTX, no congestion control feedback: Janus then sends neither.
        for absent in ["rtx", "apt=", "transport-cc", "goog-remb", "abs-send-time", "a=ssrc", "extmap:2", "extmap:3"] {
            #expect(!text.contains(absent), "answer should not carry \(absent)")
        }
        #expect(lines.filter { $0.hasPrefix("m=") }.count == 2)
    }

    @Test func answerReadsBackAsTheSameTransport() throws {
        let offer = try JanusSubscriberOffer(parsing: try Self.capturedOffer())
        let parsed = try SDPAnswer(parsing: try JanusSDP.answer(to: offer, local: Self.local))
        #expect(parsed.ice == Self.local.ice && parsed.fingerprint == Self.local.fingerprint)
        #expect(parsed.candidate == TransportAddress(ip: .v4(127, 0, 0, 1), port: 50_000))
        #expect(parsed.section(mid: "0")?.payloadType == 111 && parsed.section(mid: "1")?.payloadType == 96)
    }

    /// Janus's own payload types and mids are echoed whatever they are, and sections the
    /// subscriber cannot take are declined in place (RFC 8829 §5.3.1), left out of BUNDLE.
    @Test func otherNumberingAndExtraSectionsAreHandled() throws {
        var sdp = try Self.capturedOffer()
        sdp = sdp.replacingOccurrences(of: "UDP/TLS/RTP/SAVPF 111", with: "UDP/TLS/RTP/SAVPF 109")
            .replacingOccurrences(of: "a=rtpmap:111 opus", with: "a=rtpmap:109 opus")
            .replacingOccurrences(of: "a=mid:1\r\n", with: "a=mid:v1\r\n")
            .replacingOccurrences(of: "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid", with: "a=extmap:9 urn:ietf:params:rtp-hdrext:sdes:mid")
        sdp += "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 127.0.0.1\r\na=mid:d\r\na=sctp-port:5000\r\n"
        let offer = try JanusSubscriberOffer(parsing: sdp)
        let text = try JanusSDP.answer(to: offer, local: Self.local)
        let lines = text.components(separatedBy: "\r\n")
        #expect(lines.contains("m=audio 50000 UDP/TLS/RTP/SAVPF 109") && lines.contains("a=rtpmap:109 opus/48000/2"))
        #expect(lines.contains("a=mid:v1") && lines.contains("a=group:BUNDLE 0 v1"))
        #expect(lines.filter { $0 == "a=extmap:9 urn:ietf:params:rtp-hdrext:sdes:mid" }.count == 2)
        #expect(lines.contains("m=application 0 UDP/DTLS/SCTP webrtc-datachannel") && lines.contains("a=mid:d"))
        let parsed = try SDPAnswer(parsing: text)
        #expect(parsed.sections.map(\.isAccepted) == [true, true, false])
    }

    @Test func offerWithoutVP8OrOpusIsRefused() throws {
        let offer = try Self.capturedOffer()
        let h264 = try JanusSubscriberOffer(parsing: offer.replacingOccurrences(of: "VP8/90000", with: "H264/90000"))
        #expect(h264.video == nil)
        #expect(throws: LoadTestError.self) { try JanusSDP.answer(to: h264, local: Self.local) }
        let noAudio = try JanusSubscriberOffer(parsing: offer.replacingOccurrences(of: "m=audio 9", with: "m=audio 0"))
        #expect(noAudio.audio == nil)
        #expect(throws: LoadTestError.self) { try JanusSDP.answer(to: noAudio, local: Self.local) }
    }

    @Test func badLinesSayWhy() throws {
        let offer = try Self.capturedOffer()
        for (bad, word) in [
            ("a=rtpmap:111 opus/48000/2", "a=rtpmap:300 opus/48000/2"), ("a=rtpmap:111 opus/48000/2", "a=rtpmap:111"),
            ("a=extmap:4 urn", "a=extmap:15 urn"), ("a=ssrc:2033032073", "a=ssrc:x"), ("m=audio 9 UDP", "m=audio x UDP"),
        ] {
            let mutated = offer.replacingOccurrences(of: bad, with: word)
            do {
                _ = try JanusSubscriberOffer(parsing: mutated)
                Issue.record("accepted '\(word)'")
            } catch {
                #expect("\(error)".contains("SDP answer:"), "\(error)")
            }
        }
    }

    @Test func mutatedOffersNeverCrash() throws {
        let bytes = Array(try Self.capturedOffer().utf8)
        var generator = SplitMix64(seed: 0x5344_50)
        for _ in 0..<3000 {
            var mutated = bytes
            for _ in 0..<Int.random(in: 1...8, using: &generator) {
                let at = Int.random(in: 0..<mutated.count, using: &generator)
                mutated[at] = [UInt8(ascii: " "), UInt8(ascii: ":"), UInt8(ascii: "\n"), UInt8(ascii: "9"), UInt8.random(in: 0...255, using: &generator)]
                    .randomElement(using: &generator)!
            }
            if let offer = try? JanusSubscriberOffer(parsing: String(decoding: mutated, as: UTF8.self)) {
                _ = try? JanusSDP.answer(to: offer, local: Self.local)
            }
        }
    }

    @Test func publisherOfferToJanusSaysActive() {
        var offer = SDPOffer(ice: Self.local.ice, fingerprint: Self.local.fingerprint, localPort: 50_000, sessionID: 1)
        #expect(offer.publish(audioSSRC: 1, videoSSRC: 2, cname: "a").contains("a=setup:actpass\r\n"))
        offer.dtlsSetup = "active"
        let text = offer.publish(audioSSRC: 1, videoSSRC: 2, cname: "a")
        #expect(text.components(separatedBy: "a=setup:active\r\n").count == 3 && !text.contains("actpass"))
    }
}
