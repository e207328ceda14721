// Seeded random mutations of the real offers: parsing and negotiating may refuse them with an
// SDPError, but never crash, and whatever they accept must render and answer consistently.

import ChorusTestSupport
import Testing
@testable import SDP


@Suite("SDP fuzz")
struct SDPFuzzTests {
    /// Characters that matter to SDP grammar plus some that should never appear.
    static let alphabet: [Character] = Array("v=ma:/ 0123456789-_.*+#\t\r\nxyzAZé\u{0}\u{7F}\u{2028}🙂") + ["\r\n"]

    static func mutate(_ text: String, using rng: inout SeededGenerator) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for _ in 0..<Int.random(in: 1...3, using: &rng) where !lines.isEmpty {
            let index = Int.random(in: 0..<lines.count, using: &rng)
            switch Int.random(in: 0..<8, using: &rng) {
            case 0:
                lines.remove(at: index)
            case 1:
                lines.insert(lines[index], at: Int.random(in: 0...lines.count, using: &rng))
            case 2:
                lines.swapAt(index, Int.random(in: 0..<lines.count, using: &rng))
            case 3, 4:
                var characters = Array(lines[index])
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    let character = alphabet.randomElement(using: &rng)!
                    if characters.isEmpty || Bool.random(using: &rng) {
                        characters.insert(character, at: Int.random(in: 0...characters.count, using: &rng))
                    } else {
                        characters[Int.random(in: 0..<characters.count, using: &rng)] = character
                    }
                }
                lines[index] = String(characters)
            case 5:
                // Replace one number with an edge value.
                let edges = ["0", "-1", "127", "128", "255", "256", "15", "65535", "65536", "4294967295", "4294967296",
                             "18446744073709551616", "", "00"]
                var fields = lines[index].split(separator: " ", omittingEmptySubsequences: false).map(String.init)
                let field = Int.random(in: 0..<fields.count, using: &rng)
                fields[field] = fields[field].replacingDigits(with: edges.randomElement(using: &rng)!)
                lines[index] = fields.joined(separator: " ")
            case 6:
                let cut = Int.random(in: 0...lines[index].count, using: &rng)
                lines[index] = String(lines[index].prefix(cut))
            default:
                let junk = ["a=", "m=audio 0 UDP/TLS/RTP/SAVPF 0", "a=mid:0", "a=setup:passive", "a=ice-lite", "a=rtcp-mux",
                            "a=group:BUNDLE", "a=ssrc-group:FID 1", "a=extmap:14 urn:ietf:params:rtp-hdrext:sdes:mid",
                            "a=rtpmap:96 opus/48000/2", "m=video 9 UDP/TLS/RTP/SAVPF 96", "a=bundle-only", "c=IN IP4", "b=AS:1"]
                lines.insert(junk.randomElement(using: &rng)!, at: index)
            }
        }
        return lines.joined(separator: Bool.random(using: &rng) ? "\n" : "\r\n")
    }

    /// What must hold for any text: errors point at a real line; accepted offers answer in order.
    /// Returns whether the negotiator accepted the text.
    @discardableResult
    static func check(_ text: String) throws -> Bool {
        let lineCount = text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }.count
        do {
            let description = try SessionDescription(parsing: text)
            let rendered = description.render()
            #expect(try SessionDescription(parsing: rendered) == description, "render → parse is stable")
        } catch {
            if case let .malformed(line, _) = error {
                #expect((1...lineCount).contains(line), "malformed line \(line) of \(lineCount)")
            }
        }
        do {
            let negotiated = try SDPNegotiator.negotiate(offer: text)
            #expect(!negotiated.media.isEmpty)
            #expect(negotiated.media.count + negotiated.rejectedIndexes.count == negotiated.offer.media.count)
            let answerText = SDPNegotiator.answer(
                to: negotiated, local: SDPAnswerTests.local,
                outgoing: Dictionary(uniqueKeysWithValues: negotiated.media.map { ($0.mid, SDPAnswerTests.videoOut) }),
                sessionID: 7)
            let answer = try SessionDescription(parsing: answerText)
            #expect(answer.media.count == negotiated.offer.media.count)
            #expect(answer.media.map { $0.port != 0 } == negotiated.offer.media.indices.map { index in
                negotiated.media.contains { $0.index == index }
            })
            if negotiated.offer.bundleGroup != nil {
                #expect(answer.bundleGroup == negotiated.media.map(\.mid))
            }
            return true
        } catch {
            if case let .malformed(line, _) = error {
                #expect((1...lineCount).contains(line), "malformed line \(line) of \(lineCount)")
            }
            return false
        }
    }

    @Test(arguments: zip(SDPFixtures.all.map(\.name), [UInt64(0xC0FFEE), 0x5EED_0002, 0x5EED_0003]))
    func mutatedFixtures(name: String, seed: UInt64) throws {
        let text = try #require(SDPFixtures.all.first { $0.name == name }).text
        var rng = SeededGenerator(seed: seed)
        var accepted = 0
        for _ in 0..<1000 {
            if try Self.check(Self.mutate(text, using: &rng)) { accepted += 1 }
        }
        // Many single-line mutations (a candidate, an unused rtpmap) are harmless: the loop
        // must exercise the accepting path as well as the refusing one.
        #expect(accepted > 100)
        #expect(accepted < 900)
    }

    @Test func randomText() throws {
        var rng = SeededGenerator(seed: 0xBAD_5D9)
        for _ in 0..<1000 {
            let length = Int.random(in: 0...200, using: &rng)
            var text = String((0..<length).map { _ in Self.alphabet.randomElement(using: &rng)! })
            if Bool.random(using: &rng) { text = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n" + text }
            try Self.check(text)
        }
    }
}

fileprivate extension String {
    /// The string with its first run of digits replaced (or `value` appended when it has none).
    func replacingDigits(with value: String) -> String {
        guard let start = firstIndex(where: { $0.isASCII && $0.isNumber }) else { return self + value }
        let end = self[start...].firstIndex(where: { !($0.isASCII && $0.isNumber) }) ?? endIndex
        return String(self[..<start]) + value + String(self[end...])
    }
}
