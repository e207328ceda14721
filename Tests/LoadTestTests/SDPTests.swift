// The offers Chorus must accept and the answer as Chorus writes it (captured from a real
// `chorus serve`), plus the HTTP responses around them.

import ICE
import SFU
import Testing
@testable import LoadTest

@Suite struct SDPTests {
    static let fingerprint = DTLSFingerprint(algorithm: "sha-256", bytes: Array(0..<32))
    static let offer = SDPOffer(
        ice: ICECredentials(ufrag: "abcdefgh", pwd: "abcdefghijklmnopqrstuvwx"), fingerprint: fingerprint, localPort: 50_000,
        sessionID: 42)

    @Test func publishOfferHasWhatChorusRequires() {
        let text = Self.offer.publish(audioSSRC: 1111, videoSSRC: 2222, cname: "alice")
        let lines = text.components(separatedBy: "\r\n")
        #expect(text.hasSuffix("\r\n"))
        for required in [
            "a=group:BUNDLE 0 1", "m=audio 50000 UDP/TLS/RTP/SAVPF 111", "m=video 50000 UDP/TLS/RTP/SAVPF 96",
            "a=rtpmap:111 opus/48000/2", "a=rtpmap:96 VP8/90000", "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid",
            "a=setup:actpass", "a=rtcp-mux", "a=sendonly", "a=ice-ufrag:abcdefgh", "a=ice-pwd:abcdefghijklmnopqrstuvwx",
            "a=fingerprint:sha-256 " + Self.fingerprint.hex, "a=ssrc:1111 cname:alice", "a=ssrc:2222 cname:alice",
            "a=candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host", "a=rtcp-fb:96 nack pli",
        ] {
            #expect(lines.contains(required), "missing \(required)")
        }
        #expect(lines.filter { $0.hasPrefix("m=") }.count == 2)
        #expect(!lines.contains("a=recvonly"))
    }

    @Test func subscribeOfferIsRecvonlyWithoutSources() {
        let text = Self.offer.subscribe()
        #expect(text.components(separatedBy: "a=recvonly").count == 3)
        #expect(!text.contains("a=ssrc"))
        #expect(!text.contains("a=sendonly"))
        #expect(text.contains("a=mid:0\r\n") && text.contains("a=mid:1\r\n"))
    }

    static let answer = """
        v=0\r
        o=- 1980380843727376843 2 IN IP4 127.0.0.1\r
        s=-\r
        t=0 0\r
        a=ice-lite\r
        a=group:BUNDLE 0 1\r
        a=msid-semantic:WMS *\r
        m=audio 48000 UDP/TLS/RTP/SAVPF 111\r
        c=IN IP4 127.0.0.1\r
        a=ice-ufrag:gMtbgNG3\r
        a=ice-pwd:Xs71RmxWAmvk2wjJerLdtl2o\r
        a=fingerprint:sha-256 4C:0B:A4:6D:6A:82:F4:EE:1E:78:C9:8E:68:F3:36:DE:82:D2:3E:FA:58:E7:F1:EB:D7:F2:9D:62:D4:09:70:3F\r
        a=setup:passive\r
        a=mid:0\r
        a=sendonly\r
        a=rtcp-mux\r
        a=rtpmap:111 opus/48000/2\r
        a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r
        a=msid:omlzbocu8mno omlzbocu8mno-0\r
        a=ssrc:2645834575 cname:chorus-omlzbocu\r
        a=ssrc:2645834575 msid:omlzbocu8mno omlzbocu8mno-0\r
        a=candidate:1 1 udp 2130706431 127.0.0.1 48000 typ host\r
        a=end-of-candidates\r
        m=video 48000 UDP/TLS/RTP/SAVPF 96\r
        c=IN IP4 127.0.0.1\r
        a=ice-ufrag:gMtbgNG3\r
        a=ice-pwd:Xs71RmxWAmvk2wjJerLdtl2o\r
        a=fingerprint:sha-256 4C:0B:A4:6D:6A:82:F4:EE:1E:78:C9:8E:68:F3:36:DE:82:D2:3E:FA:58:E7:F1:EB:D7:F2:9D:62:D4:09:70:3F\r
        a=setup:passive\r
        a=mid:1\r
        a=sendonly\r
        a=rtcp-mux\r
        a=rtpmap:96 VP8/90000\r
        a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r
        a=msid:omlzbocu8mno omlzbocu8mno-1\r
        a=ssrc:984177499 cname:chorus-omlzbocu\r
        a=ssrc:984177499 msid:omlzbocu8mno omlzbocu8mno-1\r
        a=candidate:1 1 udp 2130706431 127.0.0.1 48000 typ host\r
        a=end-of-candidates\r

        """

    @Test func chorusAnswerIsRead() throws {
        let answer = try SDPAnswer(parsing: Self.answer)
        #expect(answer.ice == ICECredentials(ufrag: "gMtbgNG3", pwd: "Xs71RmxWAmvk2wjJerLdtl2o"))
        #expect(answer.fingerprint.algorithm == "sha-256")
        #expect(answer.fingerprint.bytes.count == 32 && answer.fingerprint.bytes[0] == 0x4C)
        #expect(answer.candidate == TransportAddress(ip: .v4(127, 0, 0, 1), port: 48000))
        #expect(answer.section(mid: "0") == .init(kind: "audio", port: 48000, mid: "0", direction: "sendonly", payloadType: 111, ssrc: 2_645_834_575))
        #expect(answer.section(mid: "1")?.ssrc == 984_177_499)
        #expect(answer.section(mid: "1")?.payloadType == 96)
    }

    @Test func rejectedSectionsAreNotOffered() throws {
        let text = Self.answer.replacingOccurrences(of: "m=video 48000", with: "m=video 0")
        #expect(try SDPAnswer(parsing: text).section(mid: "1") == nil)
    }

    @Test(arguments: ["a=ice-ufrag", "a=fingerprint", "a=candidate"])
    func answersWithoutTransportPartsAreRefused(attribute: String) {
        let text = Self.answer.components(separatedBy: "\r\n").filter { !$0.hasPrefix(attribute) }.joined(separator: "\r\n")
        #expect(throws: LoadTestError.self) { try SDPAnswer(parsing: text) }
    }

    @Test func garbageNeverCrashes() {
        var generator = SplitMix64(seed: 11)
        let pieces = ["m=", "a=ssrc:", "a=candidate:", "a=fingerprint:", "\r\n", "\n", " ", "x", "99999999999", ":", "a=mid:"]
        for _ in 0..<500 {
            let text = (0..<40).map { _ in pieces[Int(generator.next() % UInt64(pieces.count))] }.joined()
            _ = try? SDPAnswer(parsing: text)
        }
    }

    @Test func httpResponseWithContentLength() throws {
        let raw = Array("HTTP/1.1 201 Created\r\nContent-Type: application/sdp\r\nLocation: /whip/r/p\r\ncontent-length: 5\r\n\r\nhello, extra".utf8)
        let response = try HTTPResponse(parsing: raw)
        #expect(response.status == 201)
        #expect(response.header("Location") == "/whip/r/p")
        #expect(response.body == "hello")
    }

    @Test func httpResponseChunked() throws {
        let raw = Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7;x=y\r\n, world\r\n0\r\n\r\n".utf8)
        #expect(try HTTPResponse(parsing: raw).body == "hello, world")
    }

    @Test(arguments: [
        "", "HTTP/1.1 201 Created\r\n", "SIP/2.0 200 OK\r\n\r\n", "HTTP/1.1 abc OK\r\n\r\n", "HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc",
    ])
    func badResponsesAreRefused(raw: String) {
        #expect(throws: LoadTestError.self) { try HTTPResponse(parsing: Array(raw.utf8)) }
    }
}
