// The shared offers (ChorusTestSupport's SDPFixtures) read back faithfully by the parser.

import ChorusTestSupport
import SDP
import Testing

@Suite("SDP fixtures")
struct SDPFixturesTests {
    @Test(arguments: SDPFixtures.all.map(\.name))
    func fixtureRendersBackToTheSameCRLFText(name: String) throws {
        let text = try #require(SDPFixtures.all.first { $0.name == name }).text
        let crlf = SDPFixtures.crlf(text)
        let description = try SessionDescription(parsing: crlf)
        #expect(description.render() == crlf)
        #expect(try SessionDescription(parsing: text) == description)
    }

    @Test func fixturesHaveTheShapesTheTestsRelyOn() throws {
        let aiortc = try SessionDescription(parsing: SDPFixtures.aiortc)
        #expect(aiortc.media.map(\.kind) == ["audio", "video"])
        #expect(aiortc.media.map(\.port) == [46797, 53510])
        #expect(aiortc.media[0].values(of: "fingerprint").count == 3)
        #expect(aiortc.media[1].values(of: "ssrc-group") == ["FID 1584612412 2841929284"])

        let chromium = try SessionDescription(parsing: SDPFixtures.chromium)
        #expect(chromium.media.map(\.kind) == ["audio", "video", "application"])
        #expect(chromium.has("extmap-allow-mixed"))
        #expect(chromium.media[2].formats == ["webrtc-datachannel"])
        #expect(chromium.media[1].formats.count == 21)

        let whep = try SessionDescription(parsing: SDPFixtures.whep)
        #expect(whep.media.map(\.direction) == [.recvonly, .recvonly])
        #expect(whep.media.allSatisfy { !$0.has("ssrc") && !$0.has("msid") })
    }
}
