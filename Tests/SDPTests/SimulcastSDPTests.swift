// Simulcast in offers and answers: RID simulcast (RFC 8851, 8852, 8853) as Chromium offers it,
// and `a=ssrc-group:SIM` as older libwebrtc clients do.

import ChorusTestSupport
import Testing
@testable import SDP

@Suite("Simulcast SDP")
struct SimulcastSDPTests {
    static func answer(_ offer: String) throws -> (NegotiatedOffer, SessionDescription) {
        let negotiated = try SDPNegotiator.negotiate(offer: offer)
        let text = SDPNegotiator.answer(to: negotiated, local: SDPAnswerTests.local, outgoing: [:], sessionID: 42)
        return (negotiated, try SessionDescription(parsing: text))
    }

    @Test func chromiumOfferIsAnsweredWithItsThreeLayers() throws {
        let (negotiated, answer) = try Self.answer(SDPFixtures.chromiumSimulcast)
        let video = try #require(negotiated.media.first { $0.kind == .video })
        #expect(video.simulcast == SimulcastLayers(rids: ["q", "h", "f"]))
        #expect(video.ssrc == nil, "Chromium announces no per-layer SSRC")
        #expect(video.codec.name == "VP8")
        #expect(video.codec.rtxPayloadType == 97)
        #expect(video.codec.feedback.contains("transport-cc"))
        #expect(video.headerExtensionID(HeaderExtension.rtpStreamID) == 10)
        #expect(video.headerExtensionID(HeaderExtension.repairedRTPStreamID) == 11)
        #expect(video.headerExtensionID(HeaderExtension.sdesMID) == 4)
        #expect(video.headerExtensionID(HeaderExtension.transportWideCC) == 3)

        let section = answer.media[1]
        #expect(section.values(of: "rid") == ["q recv", "h recv", "f recv"])
        #expect(section.values(of: "simulcast") == ["recv q;h;f"])
        #expect(section.has("recvonly"))
        let extmaps = section.values(of: "extmap")
        #expect(extmaps.contains("10 \(HeaderExtension.rtpStreamID)"))
        #expect(extmaps.contains("11 \(HeaderExtension.repairedRTPStreamID)"))
        #expect(extmaps.contains("4 \(HeaderExtension.sdesMID)"))
        #expect(extmaps.contains("3 \(HeaderExtension.transportWideCC)"))
        #expect(section.values(of: "rtpmap").contains("97 rtx/90000"))
        #expect(section.values(of: "fmtp").contains("97 apt=96"))
        #expect(section.values(of: "rtcp-fb").contains("96 transport-cc"))

        // Audio is one stream: no simulcast lines, no RID extensions.
        let audio = answer.media[0]
        #expect(audio.values(of: "rid").isEmpty && audio.values(of: "simulcast").isEmpty)
        #expect(negotiated.media[0].simulcast == nil)
    }

    @Test func withoutSimulcastTheRIDExtensionsAreNotAnswered() throws {
        let single = SDPFixtures.chromiumSimulcast.replacingOccurrences(of: "\na=simulcast:send q;h;f", with: "")
        let (negotiated, answer) = try Self.answer(single)
        #expect(negotiated.media[1].simulcast == nil)
        #expect(answer.media[1].values(of: "rid").isEmpty)
        #expect(!answer.media[1].values(of: "extmap").contains { $0.contains("rtp-stream-id") })
    }

    @Test func simulcastAttributeForms() throws {
        func layers(_ simulcast: String, rids: [String] = ["a", "b", "c"]) throws -> SimulcastLayers? {
            let ridLines = rids.map { "a=rid:\($0) send" }.joined(separator: "\n")
            let offer = SDPFixtures.chromiumSimulcast
                .replacingOccurrences(of: "a=rid:q send\na=rid:h send\na=rid:f send\n", with: ridLines + "\n")
                .replacingOccurrences(of: "a=simulcast:send q;h;f", with: "a=simulcast:" + simulcast)
            return try SDPNegotiator.negotiate(offer: offer).media[1].simulcast
        }
        // Paused streams (~) are still layers; of alternatives the first counts (RFC 8853 §5.1).
        #expect(try layers("send a;~b;c") == SimulcastLayers(rids: ["a", "b", "c"]))
        #expect(try layers("send a,b;c") == SimulcastLayers(rids: ["a", "c"]))
        #expect(try layers("recv x send a;b") == SimulcastLayers(rids: ["a", "b"]))
        // A RID with no `a=rid:<id> send` line is not a layer.
        #expect(try layers("send a;b;z") == SimulcastLayers(rids: ["a", "b"]))
        #expect(try layers("recv a;b") == nil)
        #expect(throws: SDPError.self) { try layers("send") }
        #expect(throws: SDPError.self) { try layers("sideways a;b") }
        #expect(throws: SDPError.self) { try layers("send a;b!") }
    }

    @Test func ssrcGroupSIMGivesLayersWithTheirRTX() throws {
        let offer = SDPFixtures.chromiumSimulcast
            .replacingOccurrences(of: "a=rid:q send\na=rid:h send\na=rid:f send\na=simulcast:send q;h;f", with: """
                a=ssrc-group:SIM 100 200 300
                a=ssrc-group:FID 100 101
                a=ssrc-group:FID 200 201
                a=ssrc-group:FID 300 301
                a=ssrc:100 cname:x
                a=ssrc:101 cname:x
                a=ssrc:200 cname:x
                a=ssrc:201 cname:x
                a=ssrc:300 cname:x
                a=ssrc:301 cname:x

                """)
        let (negotiated, answer) = try Self.answer(offer)
        let video = negotiated.media[1]
        #expect(video.simulcast == SimulcastLayers(ssrcs: [.init(ssrc: 100, rtxSSRC: 101), .init(ssrc: 200, rtxSSRC: 201), .init(ssrc: 300, rtxSSRC: 301)]))
        #expect(video.ssrc == 100 && video.rtxSSRC == 101)
        // SSRC simulcast needs no answer lines (the layers are known by SSRC).
        #expect(answer.media[1].values(of: "simulcast").isEmpty)
    }
}
