// SDPNegotiator.negotiate: what Chorus takes from real offers, and the offers it refuses.

import ChorusTestSupport
import Testing
@testable import SDP

@Suite("SDP negotiation")
struct SDPNegotiatorTests {
    static let fp = "sha-256 " + SDPFixtures.chromiumFingerprint

    /// A small offer built per test: session lines, then one section per entry.
    static func offer(session: [String] = ["a=group:BUNDLE 0"], sections: [[String]]) -> String {
        (["v=0", "o=- 1 2 IN IP4 127.0.0.1", "s=-", "t=0 0"] + session + sections.flatMap { $0 })
            .joined(separator: "\r\n") + "\r\n"
    }

    static func audio(mid: String = "0", port: Int = 9, extra: [String] = ["a=sendonly"]) -> [String] {
        ["m=audio \(port) UDP/TLS/RTP/SAVPF 111", "c=IN IP4 0.0.0.0", "a=mid:\(mid)", "a=ice-ufrag:abcd",
         "a=ice-pwd:abcdefghijklmnopqrstuv", "a=fingerprint:\(fp)", "a=setup:actpass", "a=rtcp-mux",
         "a=rtpmap:111 opus/48000/2"] + extra
    }

    static func video(mid: String = "1", formats: String, maps: [String], extra: [String] = ["a=sendonly"]) -> [String] {
        ["m=video 9 UDP/TLS/RTP/SAVPF \(formats)", "c=IN IP4 0.0.0.0", "a=mid:\(mid)", "a=ice-ufrag:abcd",
         "a=ice-pwd:abcdefghijklmnopqrstuv", "a=fingerprint:\(fp)", "a=setup:actpass", "a=rtcp-mux"] + maps + extra
    }

    func error(_ text: String, policy: CodecPolicy = .default) -> SDPError? {
        do {
            _ = try SDPNegotiator.negotiate(offer: text, policy: policy)
            return nil
        } catch {
            return error
        }
    }

    // MARK: - Real offers

    @Test func aiortcOffer() throws {
        let result = try SDPNegotiator.negotiate(offer: SDPFixtures.crlf(SDPFixtures.aiortc))
        #expect(result.iceUfrag == "X5gN")
        #expect(result.icePwd == "5y5WqeCcOoBkl2z6M2Kjqf")
        #expect(result.setup == "actpass")
        #expect(result.fingerprints.map(\.algorithm) == ["sha-256", "sha-384", "sha-512"])
        #expect(result.fingerprints.map(\.bytes.count) == [32, 48, 64])
        #expect(result.fingerprints[0].bytes.prefix(3) == [0xA5, 0x4D, 0xCA])
        #expect(result.fingerprints[0].hexString == SDPFixtures.aiortcFingerprint256)
        #expect(result.fingerprint("SHA-512")?.bytes.last == 0x00)
        #expect(result.rejectedIndexes == [])
        #expect(result.media.map(\.mid) == ["0", "1"])

        let audio = result.media[0]
        #expect(audio.index == 0)
        #expect(audio.kind == .audio)
        #expect(audio.offerDirection == .sendrecv)
        #expect(audio.codec == NegotiatedCodec(payloadType: 96, name: "opus", clockRate: 48000, channels: 2, fmtp: nil, feedback: []))
        #expect(audio.headerExtensions == [HeaderExtension(id: 1, uri: HeaderExtension.sdesMID),
                                           HeaderExtension(id: 2, uri: HeaderExtension.audioLevel)])
        #expect(audio.ssrc == 3271828345)
        #expect(audio.cname == "6a3f0e5c-8b7d-4c2a-9e1f-3d5b7a9c1e2f")
        #expect(audio.msid == "9f7c2a4e-6d1b-4f0e-9a57-0c3b8e1d2f40 5c1e7a9b-2d34-4b8f-8e61-7f0a9c3d5b12")
        #expect(!audio.rtcpReducedSize)

        let video = result.media[1]
        #expect(video.kind == .video)
        #expect(video.codec.payloadType == 97)
        #expect(video.codec.name == "VP8")
        #expect(video.codec.clockRate == 90000)
        #expect(video.codec.channels == nil)
        #expect(video.codec.feedback == ["nack", "nack pli", "goog-remb"])
        #expect(video.headerExtensions == [HeaderExtension(id: 1, uri: HeaderExtension.sdesMID),
                                           HeaderExtension(id: 3, uri: HeaderExtension.absSendTime)])
        #expect(video.headerExtensionID(HeaderExtension.absSendTime) == 3)
        #expect(video.ssrc == 1584612412, "the FID group's first SSRC, not the RTX one")
        #expect(video.cname == "6a3f0e5c-8b7d-4c2a-9e1f-3d5b7a9c1e2f")
    }

    @Test func chromiumOffer() throws {
        let result = try SDPNegotiator.negotiate(offer: SDPFixtures.crlf(SDPFixtures.chromium))
        #expect(result.iceUfrag == "EsAw")
        #expect(result.icePwd == "bP+XJMM09aR8AiX1jdukzR6Y")
        #expect(result.fingerprints == [Fingerprint(algorithm: "sha-256", bytes: result.fingerprints[0].bytes)])
        #expect(result.fingerprints[0].hexString == SDPFixtures.chromiumFingerprint)
        #expect(result.rejectedIndexes == [2], "the data channel section")
        #expect(result.media.map(\.index) == [0, 1])

        let audio = result.media[0]
        #expect(audio.offerDirection == .sendonly)
        #expect(audio.codec == NegotiatedCodec(payloadType: 111, name: "opus", clockRate: 48000, channels: 2,
                                               fmtp: "minptime=10;useinbandfec=1", feedback: ["transport-cc"]))
        #expect(audio.headerExtensions.map(\.id) == [1, 2, 3, 4], "transport-wide sequence numbers kept for TWCC")
        #expect(audio.headerExtensionID(HeaderExtension.transportWideCC) == 3)
        #expect(audio.ssrc == 2904383427)
        #expect(audio.cname == "QcdK8i0pA2nHj3Lf")
        #expect(audio.msid == "3f5b9d1e-7a2c-4e6f-8b0d-2c4e6a8b0d1f 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")
        #expect(audio.rtcpReducedSize)

        let video = result.media[1]
        #expect(video.codec.payloadType == 96)
        #expect(video.codec.name == "VP8")
        #expect(video.codec.fmtp == nil)
        #expect(video.codec.feedback == ["nack", "nack pli", "ccm fir", "goog-remb", "transport-cc"])
        #expect(video.codec.rtxPayloadType == 97, "the rtx format whose apt names VP8 96")
        #expect(video.headerExtensions == [HeaderExtension(id: 2, uri: HeaderExtension.absSendTime),
                                           HeaderExtension(id: 3, uri: HeaderExtension.transportWideCC),
                                           HeaderExtension(id: 4, uri: HeaderExtension.sdesMID)])
        #expect(video.ssrc == 1149373539)
        #expect(video.rtxSSRC == 3318574211, "the FID group's second SSRC")
        #expect(video.msid == "3f5b9d1e-7a2c-4e6f-8b0d-2c4e6a8b0d1f 7d8e9f0a-1b2c-4d3e-9f4a-5b6c7d8e9f0a")
    }

    @Test func whepOffer() throws {
        let result = try SDPNegotiator.negotiate(offer: SDPFixtures.whep)
        #expect(result.media.map(\.offerDirection) == [.recvonly, .recvonly])
        #expect(result.media.map(\.codec.payloadType) == [111, 96])
        #expect(result.media.allSatisfy { $0.ssrc == nil && $0.cname == nil && $0.msid == nil })
        #expect(result.rejectedIndexes == [])
    }

    // MARK: - Codec choice

    @Test func contentSlidesMarksAScreenShare() throws {
        // RFC 4796: a comma-separated list, values case-insensitive.
        let text = Self.offer(session: ["a=group:BUNDLE 0 1 2"], sections: [
            Self.audio(),
            Self.video(mid: "1", formats: "96", maps: ["a=rtpmap:96 VP8/90000"], extra: ["a=sendonly", "a=content:main"]),
            Self.video(mid: "2", formats: "96", maps: ["a=rtpmap:96 VP8/90000"], extra: ["a=sendonly", "a=content:alt, Slides"]),
        ])
        let media = try SDPNegotiator.negotiate(offer: text, policy: CodecPolicy(maxAudioSections: 1, maxVideoSections: 2)).media
        #expect(media.map(\.content) == [[], ["main"], ["alt", "slides"]])
        #expect(media.map(\.isSlides) == [false, false, true])
    }

    @Test func policyOrderDecides() throws {
        let h264 = try SDPNegotiator.negotiate(offer: SDPFixtures.chromium, policy: CodecPolicy(video: ["H264", "VP8"]))
        #expect(h264.media[1].codec.payloadType == 102, "first packetization-mode=1 baseline variant")
        #expect(h264.media[1].codec.fmtp == "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f")

        let vp9 = try SDPNegotiator.negotiate(offer: SDPFixtures.chromium, policy: CodecPolicy(video: ["vp9"]))
        #expect(vp9.media[1].codec.payloadType == 98)
        #expect(vp9.media[1].codec.name == "VP9")

        let g722 = try SDPNegotiator.negotiate(offer: SDPFixtures.chromium, policy: CodecPolicy(audio: ["G722", "opus"]))
        #expect(g722.media[0].codec == NegotiatedCodec(payloadType: 9, name: "G722", clockRate: 8000))

        let aiortcH264 = try SDPNegotiator.negotiate(offer: SDPFixtures.aiortc, policy: CodecPolicy(video: ["H264"]))
        #expect(aiortcH264.media[1].codec.payloadType == 99)
    }

    @Test func h264PrefersModeOneBaseline() throws {
        let maps = [
            "a=rtpmap:100 H264/90000", "a=fmtp:100 packetization-mode=0;profile-level-id=42e01f",
            "a=rtpmap:101 H264/90000", "a=fmtp:101 packetization-mode=1;profile-level-id=640c1f",
            "a=rtpmap:102 H264/90000", "a=fmtp:102 profile-level-id=42E01F; Packetization-Mode=1",
            "a=rtpmap:103 h264/90000", "a=fmtp:103 packetization-mode=1;profile-level-id=42e01f",
        ]
        let text = Self.offer(session: ["a=group:BUNDLE 1"], sections: [Self.video(formats: "100 101 102 103", maps: maps)])
        let result = try SDPNegotiator.negotiate(offer: text)
        #expect(result.media[0].codec.payloadType == 102)

        // Without a baseline mode-1 variant: mode 1 of another profile beats mode 0 baseline.
        let fewer = Self.offer(session: ["a=group:BUNDLE 1"], sections: [Self.video(formats: "100 101", maps: Array(maps.prefix(4)))])
        #expect(try SDPNegotiator.negotiate(offer: fewer).media[0].codec.payloadType == 101)
    }

    @Test func staticPayloadTypeWithoutRtpmap() throws {
        let section = ["m=audio 9 UDP/TLS/RTP/SAVPF 0 8", "a=mid:0", "a=ice-ufrag:abcd", "a=ice-pwd:abcdefghijklmnopqrstuv",
                       "a=fingerprint:\(Self.fp)", "a=rtcp-mux"]
        let result = try SDPNegotiator.negotiate(offer: Self.offer(sections: [section]), policy: CodecPolicy(audio: ["PCMA", "PCMU"]))
        #expect(result.media[0].codec == NegotiatedCodec(payloadType: 8, name: "PCMA", clockRate: 8000))
        #expect(result.setup == "active", "RFC 4145 default when a=setup is absent")
    }

    @Test func wildcardFeedbackApplies() throws {
        let maps = ["a=rtpmap:96 VP8/90000", "a=rtcp-fb:* nack", "a=rtcp-fb:96  NACK   PLI", "a=rtcp-fb:96 transport-cc",
                    "a=rtcp-fb:97 ccm fir"]
        let text = Self.offer(session: ["a=group:BUNDLE 1"], sections: [Self.video(formats: "96", maps: maps)])
        #expect(try SDPNegotiator.negotiate(offer: text).media[0].codec.feedback == ["nack", "nack pli", "transport-cc"],
                "the wildcard applies, duplicates and case collapse, another format's line does not")
    }

    @Test func primarySSRCIsNotTheRepairOne() throws {
        // The RTX SSRC is described first; the FID group still names the media SSRC first.
        let extra = ["a=sendonly", "a=ssrc:222 cname:rtx-first", "a=ssrc:111 cname:media", "a=ssrc:111 msid:s t",
                     "a=ssrc-group:FID 111 222"]
        let text = Self.offer(session: ["a=group:BUNDLE 1"],
                              sections: [Self.video(formats: "96 97", maps: ["a=rtpmap:96 VP8/90000", "a=rtpmap:97 rtx/90000", "a=fmtp:97 apt=96"], extra: extra)])
        let media = try SDPNegotiator.negotiate(offer: text).media[0]
        #expect(media.ssrc == 111)
        #expect(media.cname == "media")
        #expect(media.msid == "s t", "from a=ssrc msid: when there is no a=msid")
    }

    // MARK: - Which sections are accepted

    @Test func disabledInactiveAndUnbundledSectionsAreRejected() throws {
        var disabled = Self.audio(mid: "a", port: 0)
        disabled[0] = "m=audio 0 UDP/TLS/RTP/SAVPF 111"
        let text = Self.offer(
            session: ["a=group:BUNDLE a v i"],
            sections: [disabled,
                       Self.video(mid: "v", formats: "96", maps: ["a=rtpmap:96 VP8/90000"]),
                       Self.audio(mid: "i", extra: ["a=inactive"]),
                       Self.audio(mid: "outside"),
                       ["m=audio 9 RTP/AVP 0", "a=mid:plain"],
                       ["m=text 9 UDP/TLS/RTP/SAVPF 98", "a=mid:t"]])
        let result = try SDPNegotiator.negotiate(offer: text)
        #expect(result.media.map(\.mid) == ["v"])
        #expect(result.rejectedIndexes == [0, 2, 3, 4, 5])
    }

    @Test func bundleOnlyPortZeroIsAccepted() throws {
        var bundleOnly = Self.audio(mid: "1", extra: ["a=sendonly", "a=bundle-only"])
        bundleOnly[0] = "m=audio 0 UDP/TLS/RTP/SAVPF 111"
        let text = Self.offer(session: ["a=group:BUNDLE 0 1"], sections: [Self.audio(mid: "0"), bundleOnly])
        let result = try SDPNegotiator.negotiate(offer: text, policy: CodecPolicy(maxAudioSections: 2))
        #expect(result.media.map(\.mid) == ["0", "1"])
    }

    @Test func sectionsBeyondThePolicyLimitAreRejected() throws {
        let text = Self.offer(session: ["a=group:BUNDLE 0 1 2"],
                              sections: [Self.audio(mid: "0"), Self.audio(mid: "1"), Self.audio(mid: "2")])
        let result = try SDPNegotiator.negotiate(offer: text)
        #expect(result.media.map(\.mid) == ["0"])
        #expect(result.rejectedIndexes == [1, 2])
        let two = try SDPNegotiator.negotiate(offer: text, policy: CodecPolicy(maxAudioSections: 2))
        #expect(two.rejectedIndexes == [2])
    }

    @Test func sessionLevelFallbacks() throws {
        let section = ["m=audio 9 UDP/TLS/RTP/SAVPF 111", "a=mid:0", "a=rtcp-mux", "a=rtpmap:111 opus/48000/2"]
        let text = Self.offer(
            session: ["a=group:BUNDLE 0", "a=ice-ufrag:sess", "a=ice-pwd:SESSIONpasswordXXXXXXXX", "a=fingerprint:\(Self.fp)",
                      "a=setup:active", "a=recvonly"],
            sections: [section])
        let result = try SDPNegotiator.negotiate(offer: text)
        #expect(result.iceUfrag == "sess")
        #expect(result.icePwd == "SESSIONpasswordXXXXXXXX")
        #expect(result.setup == "active")
        #expect(result.fingerprints.count == 1)
        #expect(result.media[0].offerDirection == .recvonly)
    }

    @Test func singleSectionWithoutBundleIsAccepted() throws {
        let text = Self.offer(session: [], sections: [Self.audio()])
        #expect(try SDPNegotiator.negotiate(offer: text).media.count == 1)
    }

    // MARK: - Refusals

    @Test func emptyAndGarbage() {
        #expect(error("") == .missing("v="))
        #expect(error("garbage") == .malformed(line: 1, reason: "not a <letter>=<value> line (RFC 8866 §5)"))
        #expect(error("v=0\r\n") == .missing("o="))
    }

    @Test func missingTransportParameters() {
        let withoutUfrag = SDPFixtures.removingLines(startingWith: "a=ice-ufrag", from: SDPFixtures.aiortc)
        #expect(error(withoutUfrag) == .missing("a=ice-ufrag"))
        let withoutPwd = SDPFixtures.removingLines(startingWith: "a=ice-pwd", from: SDPFixtures.chromium)
        #expect(error(withoutPwd) == .missing("a=ice-pwd"))
        let withoutFingerprint = SDPFixtures.removingLines(startingWith: "a=fingerprint", from: SDPFixtures.aiortc)
        #expect(error(withoutFingerprint) == .missing("a=fingerprint (RFC 8122 §5)"))
    }

    @Test func badTransportValuesPointAtTheirLine() throws {
        let lines = SDPFixtures.whep.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let ufragLine = try #require(lines.firstIndex(of: "a=ice-ufrag:w0Ho")) + 1
        let badUfrag = SDPFixtures.replacing("a=ice-ufrag:w0Ho", with: "a=ice-ufrag:w0:o", in: SDPFixtures.whep)
        guard case .malformed(ufragLine, _)? = error(badUfrag) else {
            Issue.record("ufrag with ':' accepted or reported elsewhere: \(String(describing: error(badUfrag)))")
            return
        }
        let shortPwd = SDPFixtures.replacing("a=ice-pwd:Lx3yVw7uP0a9QkS2dF5gH8jK", with: "a=ice-pwd:short", in: SDPFixtures.whep)
        guard case .malformed? = error(shortPwd) else { Issue.record("short ice-pwd accepted"); return }

        let fingerprintLine = "a=fingerprint:sha-256 " + SDPFixtures.whepFingerprint
        let fingerprintNumber = try #require(lines.firstIndex(of: fingerprintLine)) + 1
        for bad in ["a=fingerprint:sha-256 2E:85", "a=fingerprint:sha-256", "a=fingerprint:sha-256 ZZ" + SDPFixtures.whepFingerprint.dropFirst(2),
                    "a=fingerprint:sha-256 2E85" + SDPFixtures.whepFingerprint.dropFirst(5)] {
            let text = SDPFixtures.replacing(fingerprintLine, with: bad, in: SDPFixtures.whep)
            guard case .malformed(fingerprintNumber, _)? = error(text) else {
                Issue.record("\(bad) gave \(String(describing: error(text)))")
                continue
            }
        }
    }

    @Test func noRTCPMux() {
        let text = SDPFixtures.removingLines(startingWith: "a=rtcp-mux", from: SDPFixtures.chromium)
        guard case let .missing(what)? = error(text) else { Issue.record("offer without rtcp-mux accepted"); return }
        #expect(what.hasPrefix("a=rtcp-mux in m-line 0"))
    }

    @Test func setupPassiveOfferIsRefused() {
        let text = SDPFixtures.replacing("a=setup:actpass", with: "a=setup:passive", in: SDPFixtures.chromium)
        guard case .unsupported? = error(text) else { Issue.record("passive offer accepted"); return }
        let holdconn = SDPFixtures.replacing("a=setup:actpass", with: "a=setup:holdconn", in: SDPFixtures.whep)
        guard case .unsupported? = error(holdconn) else { Issue.record("holdconn offer accepted"); return }
        let bogus = SDPFixtures.replacing("a=setup:actpass", with: "a=setup:server", in: SDPFixtures.whep)
        guard case .malformed? = error(bogus) else { Issue.record("a=setup:server accepted"); return }
    }

    @Test func iceLiteOffererIsRefused() {
        let text = SDPFixtures.replacing("a=extmap-allow-mixed", with: "a=ice-lite", in: SDPFixtures.whep)
        guard case .unsupported? = error(text) else { Issue.record("ICE-lite offer accepted"); return }
    }

    @Test func onlyDataChannelIsNoUsableMedia() {
        let text = Self.offer(session: ["a=group:BUNDLE 0"], sections: [[
            "m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "c=IN IP4 0.0.0.0", "a=mid:0", "a=ice-ufrag:abcd",
            "a=ice-pwd:abcdefghijklmnopqrstuv", "a=fingerprint:\(Self.fp)", "a=setup:actpass", "a=sctp-port:5000",
        ]])
        #expect(error(text) == .noUsableMedia)
        #expect(error(Self.offer(sections: [])) == .noUsableMedia)
    }

    @Test func onlyUnsupportedCodecsIsNoUsableMedia() {
        var g722 = Self.audio()
        g722[0] = "m=audio 9 UDP/TLS/RTP/SAVPF 9"
        g722[8] = "a=rtpmap:9 G722/8000"
        let av1 = Self.video(mid: "1", formats: "45 46", maps: ["a=rtpmap:45 AV1/90000", "a=rtpmap:46 rtx/90000", "a=fmtp:46 apt=45"])
        #expect(error(Self.offer(session: ["a=group:BUNDLE 0 1"], sections: [g722, av1])) == .noUsableMedia)
        #expect(error(SDPFixtures.chromium, policy: CodecPolicy(audio: ["iLBC"], video: ["H265"])) == .noUsableMedia)
    }

    @Test func badMediaLine() throws {
        let videoLine = try #require(SDPFixtures.whep.split(separator: "\n").firstIndex { $0.hasPrefix("m=video") }) + 1
        let text = SDPFixtures.replacing("m=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103", with: "m=video 9 UDP/TLS/RTP/SAVPF", in: SDPFixtures.whep)
        guard case .malformed(videoLine, _)? = error(text) else { Issue.record("\(String(describing: error(text)))"); return }
        let nonNumericFormat = SDPFixtures.replacing("m=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103", with: "m=video 9 UDP/TLS/RTP/SAVPF 96 VP8", in: SDPFixtures.whep)
        guard case .malformed(videoLine, _)? = error(nonNumericFormat) else { Issue.record("non-numeric RTP format accepted"); return }
    }

    @Test func badRTPAttributesPointAtTheirLine() {
        for (good, bad) in [("a=rtpmap:96 VP8/90000", "a=rtpmap:96 VP8"), ("a=rtpmap:96 VP8/90000", "a=rtpmap:96 VP8/0"),
                            ("a=rtpmap:97 rtx/90000", "a=rtpmap:96 rtx/90000"), ("a=fmtp:97 apt=96", "a=fmtp:x apt=96"),
                            ("a=rtcp-fb:96 nack", "a=rtcp-fb:200 nack"), ("a=rtcp-fb:96 nack", "a=rtcp-fb:96"),
                            ("a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid", "a=extmap:0 urn:ietf:params:rtp-hdrext:sdes:mid"),
                            ("a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid", "a=extmap:2 urn:ietf:params:rtp-hdrext:sdes:mid"),
                            ("a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid", "a=extmap:4/sideways urn:ietf:params:rtp-hdrext:sdes:mid")] {
            let lines = SDPFixtures.whep.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            // The video section's occurrence (the audio section shares some extmap lines).
            let videoStart = lines.firstIndex { $0.hasPrefix("m=video") }!
            let index = lines[videoStart...].firstIndex(of: good)!
            var mutated = lines
            mutated[index] = bad
            let text = mutated.joined(separator: "\n")
            guard case .malformed(index + 1, _)? = error(text) else {
                Issue.record("\(bad) gave \(String(describing: error(text)))")
                continue
            }
        }
    }

    @Test func midRules() {
        let duplicate = Self.offer(session: ["a=group:BUNDLE 0"], sections: [Self.audio(mid: "0"), Self.audio(mid: "0")])
        guard case .malformed? = error(duplicate) else { Issue.record("duplicate mid accepted"); return }
        let spaced = Self.offer(session: ["a=group:BUNDLE 0"], sections: [Self.audio(mid: "a\"b")])
        guard case .malformed? = error(spaced) else { Issue.record("non-token mid accepted"); return }
        let withoutMid = Self.offer(session: [], sections: [Self.audio().filter { !$0.hasPrefix("a=mid") }])
        guard case .missing? = error(withoutMid) else { Issue.record("accepted section without mid"); return }
    }

    @Test func severalSectionsWithoutBundleAreRefused() {
        let text = Self.offer(session: [], sections: [Self.audio(mid: "0"), Self.video(formats: "96", maps: ["a=rtpmap:96 VP8/90000"])])
        guard case .unsupported? = error(text) else { Issue.record("unbundled offer accepted"); return }
    }
}

