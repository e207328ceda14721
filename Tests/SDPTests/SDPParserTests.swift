// SessionDescription: the RFC 8866 line model, its rendering, and why it refuses broken text.

import ChorusTestSupport
import Testing
@testable import SDP

@Suite("SDP parser")
struct SDPParserTests {
    static let minimal = "v=0\r\no=- 42 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n"

    func malformedLine(_ text: String) -> Int? {
        do {
            _ = try SessionDescription(parsing: text)
            return nil
        } catch {
            if case let .malformed(line, _) = error { return line }
            return nil
        }
    }

    @Test func readsSessionFields() throws {
        let sdp = try SessionDescription(parsing: SDPFixtures.chromium)
        #expect(sdp.version == 0)
        #expect(sdp.origin == SDPOrigin(username: "-", sessionID: "4611731400430051336", sessionVersion: "2",
                                        networkType: "IN", addressType: "IP4", address: "127.0.0.1"))
        #expect(sdp.sessionName == "-")
        #expect(sdp.timing == [SDPTiming(start: 0, stop: 0)])
        #expect(sdp.bundleGroup == ["0", "1", "2"])
        // The value keeps everything after the first ':' verbatim, blank included.
        #expect(sdp.values(of: "msid-semantic") == [" WMS 3f5b9d1e-7a2c-4e6f-8b0d-2c4e6a8b0d1f"])
        #expect(sdp.attributes.first == SDPAttribute(name: "group", value: "BUNDLE 0 1 2"))
        #expect(sdp.attributes[1] == SDPAttribute(name: "extmap-allow-mixed", value: nil))
    }

    @Test func readsMediaSections() throws {
        let sdp = try SessionDescription(parsing: SDPFixtures.chromium)
        let audio = sdp.media[0]
        #expect(audio.kind == "audio")
        #expect(audio.port == 51423)
        #expect(audio.portCount == nil)
        #expect(audio.proto == "UDP/TLS/RTP/SAVPF")
        #expect(audio.formats == ["111", "63", "103", "104", "9", "0", "8", "106", "105", "13", "110", "112", "113", "126"])
        #expect(audio.connection == "IN IP4 127.0.0.1")
        #expect(audio.mid == "0")
        #expect(audio.direction == .sendonly)
        #expect(audio.has("rtcp-mux"))
        #expect(audio.values(of: "rtcp-mux") == [""])
        #expect(audio.values(of: "candidate").count == 2)
        #expect(audio.values(of: "fingerprint") == ["sha-256 " + SDPFixtures.chromiumFingerprint])
        #expect(audio.firstValue(of: "rtpmap") == "111 opus/48000/2")
        #expect(sdp.media[2].kind == "application")
        #expect(sdp.media[2].proto == "UDP/DTLS/SCTP")
    }

    @Test func directionDefaultsToSendrecv() throws {
        let sdp = try SessionDescription(parsing: Self.minimal)
        #expect(sdp.media[0].direction == .sendrecv)
        #expect(sdp.media[0].explicitDirection == nil)
        let inactive = try SessionDescription(parsing: Self.minimal + "a=inactive\r\n")
        #expect(inactive.media[0].direction == .inactive)
    }

    @Test func reversedDirections() {
        #expect(MediaDirection.sendonly.reversed == .recvonly)
        #expect(MediaDirection.recvonly.reversed == .sendonly)
        #expect(MediaDirection.sendrecv.reversed == .sendrecv)
        #expect(MediaDirection.inactive.reversed == .inactive)
    }

    /// The byte-level line split gives the lines a split on Characters gives: CR LF is one
    /// break, a bare CR or LF another, and a combining mark after a break starts the next line
    /// rather than joining the break.
    @Test(arguments: [
        "", "\n", "\r", "\r\n", "\r\r\n\n", "\n\r", "v=0", "v=0\r\n", "v=0\ns=-\r\nt=0 0\rm=x\n",
        "a=x\r", "\u{301}v=0\n\u{301}s=\u{1F600}\r\u{301}\r\n\u{200D}", "a\r\u{301}\nb", "é\r\n\r\ne\u{301}",
    ])
    func linesMatchACharacterSplit(text: String) {
        let characterSplit = text.split(omittingEmptySubsequences: false) { $0 == "\r\n" || $0 == "\n" || $0 == "\r" }
        #expect(SDPParser.lines(of: text) == characterSplit)
    }

    @Test func acceptsLFAndCRLFAlike() throws {
        let lf = try SessionDescription(parsing: SDPFixtures.aiortc)
        let crlf = try SessionDescription(parsing: SDPFixtures.crlf(SDPFixtures.aiortc))
        #expect(lf == crlf)
        // No final line break, and blank lines in between, are tolerated too.
        let loose = try SessionDescription(parsing: "v=0\n\no=- 1 1 IN IP4 0.0.0.0\ns=-\r\n  \nt=0 0")
        #expect(loose.media.isEmpty)
        #expect(loose.origin.sessionID == "1")
    }

    @Test func rendersCRLFInRFCOrder() throws {
        let text = "v=0\ni=info\nu=http://example.com\ne=a@example.com\nc=IN IP4 0.0.0.0\nb=AS:100\n"
            + "o=- 5 6 IN IP4 1.2.3.4\ns=name\nt=1 2\nr=7d 1h 0 25h\nt=3 4\nz=0 0\nk=prompt\nx=future\na=flag\n"
            + "m=video 9/2 RTP/AVP 96\ni=cam\nc=IN IP6 ::1\nb=TIAS:5000\nk=clear:x\ny=other\na=rtpmap:96 VP8/90000\n"
        let sdp = try SessionDescription(parsing: text)
        #expect(sdp.otherLines.map(\.type) == ["u", "e", "z", "k", "x"])
        #expect(sdp.timing == [SDPTiming(start: 1, stop: 2, repeats: ["7d 1h 0 25h"]), SDPTiming(start: 3, stop: 4)])
        #expect(sdp.bandwidths == [SDPBandwidth(type: "AS", value: 100)])
        #expect(sdp.media[0].portCount == 2)
        #expect(sdp.media[0].bandwidths == [SDPBandwidth(type: "TIAS", value: 5000)])
        #expect(sdp.media[0].otherLines == [SDPLine(type: "k", value: "clear:x"), SDPLine(type: "y", value: "other")])
        let rendered = sdp.render()
        #expect(rendered == "v=0\r\no=- 5 6 IN IP4 1.2.3.4\r\ns=name\r\ni=info\r\nu=http://example.com\r\ne=a@example.com\r\n"
            + "c=IN IP4 0.0.0.0\r\nb=AS:100\r\nt=1 2\r\nr=7d 1h 0 25h\r\nt=3 4\r\nz=0 0\r\nk=prompt\r\nx=future\r\na=flag\r\n"
            + "m=video 9/2 RTP/AVP 96\r\ni=cam\r\nc=IN IP6 ::1\r\nb=TIAS:5000\r\nk=clear:x\r\ny=other\r\na=rtpmap:96 VP8/90000\r\n")
        #expect(try SessionDescription(parsing: rendered) == sdp)
    }

    @Test func buildsAndRendersFromValues() throws {
        var sdp = SessionDescription(origin: SDPOrigin(sessionID: "9", sessionVersion: "2"))
        sdp.attributes = [SDPAttribute(name: "ice-lite")]
        sdp.media = [MediaDescription(kind: "audio", port: 0, proto: "UDP/TLS/RTP/SAVPF", formats: ["0"],
                                      attributes: [SDPAttribute(name: "mid", value: "a")])]
        #expect(sdp.render() == "v=0\r\no=- 9 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=ice-lite\r\nm=audio 0 UDP/TLS/RTP/SAVPF 0\r\na=mid:a\r\n")
        #expect(try SessionDescription(parsing: sdp.render()) == sdp)
    }

    @Test func attributeValuesKeepColonsAndEmptiness() throws {
        let sdp = try SessionDescription(parsing: Self.minimal + "a=empty:\r\na=x:y:z\r\n")
        #expect(sdp.media[0].attributes.last == SDPAttribute(name: "x", value: "y:z"))
        #expect(sdp.media[0].values(of: "empty") == [""])
        #expect(sdp.media[0].attributes[1].value == "")
        #expect(try SessionDescription(parsing: sdp.render()) == sdp)
    }

    // MARK: - Refusals

    @Test func emptyOrBlankTextLacksVersion() {
        #expect(throws: SDPError.missing("v=")) { try SessionDescription(parsing: "") }
        #expect(throws: SDPError.missing("v=")) { try SessionDescription(parsing: "\r\n \r\n") }
        #expect(throws: SDPError.missing("v=")) { try SessionDescription(parsing: "o=- 1 1 IN IP4 0.0.0.0\ns=-\nt=0 0\n") }
    }

    @Test func garbageIsMalformedAtItsLine() {
        #expect(malformedLine("hello world") == 1)
        #expect(malformedLine("<html><body>404</body></html>") == 1)
        #expect(malformedLine("v=0\no=- 1 1 IN IP4 0.0.0.0\nS=-\n") == 3)
        #expect(malformedLine("v=0\no=- 1 1 IN IP4 0.0.0.0\ns=-\nt=0 0\n=x\n") == 5)
        #expect(malformedLine("{\"sdp\": \"v=0\"}") == 1)
    }

    @Test func mediaBeforeVersionIsRefused() {
        #expect(malformedLine("m=audio 9 RTP/AVP 0\nv=0\no=- 1 1 IN IP4 0.0.0.0\ns=-\nt=0 0\n") == 1)
        #expect(malformedLine("\n\nm=audio 9 RTP/AVP 0\nv=0\n") == 3)
    }

    @Test func unsupportedVersion() {
        #expect(throws: SDPError.unsupported("SDP version 1; only v=0 exists (RFC 8866 §5.1)")) {
            try SessionDescription(parsing: "v=1\no=- 1 1 IN IP4 0.0.0.0\ns=-\nt=0 0\n")
        }
        #expect(malformedLine("v=zero\n") == 1)
        #expect(malformedLine("v=+0\n") == 1)
    }

    @Test func requiredSessionLines() {
        #expect(throws: SDPError.missing("o=")) { try SessionDescription(parsing: "v=0\ns=-\nt=0 0\n") }
        #expect(throws: SDPError.missing("s=")) { try SessionDescription(parsing: "v=0\no=- 1 1 IN IP4 0.0.0.0\nt=0 0\n") }
        #expect(throws: SDPError.missing("t=")) { try SessionDescription(parsing: "v=0\no=- 1 1 IN IP4 0.0.0.0\ns=-\n") }
    }

    @Test(arguments: [
        "m=audio",
        "m=audio 9",
        "m=audio 9 UDP/TLS/RTP/SAVPF",
        "m=audio nine UDP/TLS/RTP/SAVPF 111",
        "m=audio -9 UDP/TLS/RTP/SAVPF 111",
        "m=audio +9 UDP/TLS/RTP/SAVPF 111",
        "m=audio 65536 UDP/TLS/RTP/SAVPF 111",
        "m=audio 99999999999999999999999 UDP/TLS/RTP/SAVPF 111",
        "m=audio 9/0 UDP/TLS/RTP/SAVPF 111",
        "m=audio 9/ UDP/TLS/RTP/SAVPF 111",
        "m=audio 9/x UDP/TLS/RTP/SAVPF 111",
    ])
    func badMediaLines(line: String) {
        let text = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n\(line)\r\na=mid:0\r\n"
        #expect(malformedLine(text) == 6)
    }

    @Test func badFieldsAreMalformedAtTheirLine() {
        let head = "v=0\no=- 1 1 IN IP4 0.0.0.0\ns=-\nt=0 0\n"
        #expect(malformedLine("v=0\no=- 1 IN IP4 0.0.0.0\ns=-\nt=0 0\n") == 2)
        #expect(malformedLine("v=0\no=- x 1 IN IP4 0.0.0.0\ns=-\nt=0 0\n") == 2)
        #expect(malformedLine("v=0\no=- 1 1 IN IP4 0.0.0.0\no=- 1 1 IN IP4 0.0.0.0\n") == 3)
        #expect(malformedLine("v=0\nv=0\n") == 2)
        #expect(malformedLine("v=0\no=- 1 1 IN IP4 0.0.0.0\ns=-\nt=0\n") == 4)
        #expect(malformedLine("v=0\no=- 1 1 IN IP4 0.0.0.0\ns=-\nt=a b\n") == 4)
        #expect(malformedLine("v=0\no=- 1 1 IN IP4 0.0.0.0\ns=-\nr=1 2 3\nt=0 0\n") == 4)
        #expect(malformedLine(head + "b=AS\n") == 5)
        #expect(malformedLine(head + "b=AS:-1\n") == 5)
        #expect(malformedLine(head + "c=IN IP4\n") == 5)
        #expect(malformedLine(head + "a=\n") == 5)
        #expect(malformedLine(head + "a=:x\n") == 5)
        #expect(malformedLine(head + "a=bad name:x\n") == 5)
        #expect(malformedLine(head + "m=audio 9 RTP/AVP 0\nt=0 0\n") == 6)
        #expect(malformedLine(head + "m=audio 9 RTP/AVP 0\no=- 1 1 IN IP4 0.0.0.0\n") == 6)
        #expect(malformedLine(head + "m=audio 9 RTP/AVP 0\nc=IN IP4 1.1.1.1\nc=IN IP4 1.1.1.1\n") == 7)
        #expect(malformedLine(head + "m=audio 9 RTP/AVP 0\nb=AS:x\n") == 6)
    }
}
