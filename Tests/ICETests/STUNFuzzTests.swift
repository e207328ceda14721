// Seeded fuzzing of the STUN codec: random bytes and mutated valid messages must never crash,
// and whatever parses must survive an encode → parse round trip unchanged.
import ChorusTestSupport
import Testing
@testable import ICE

@Suite struct STUNFuzzTests {
    /// Valid messages without FINGERPRINT, so that mutations reach the attribute decoders
    /// instead of stopping at the CRC.
    static let seeds: [[UInt8]] = [
        STUNCodecTests.message.encode(fingerprint: false),
        STUNCodecTests.message.encode(integrityKey: Array("k".utf8), fingerprint: false),
        Array(RFC5769.request.dropLast(8)),
        Array(RFC5769.ipv6Response.dropLast(8)),
    ].map { withLength($0, $0.count - 20) } + RFC5769.all

    @Test func randomAndMutatedInputsNeverCrash() throws {
        var random = SeededGenerator(seed: 0x5EED_0F_57_0A)
        var parsed = 0
        for iteration in 0..<100_000 {
            var bytes: [UInt8]
            switch iteration % 4 {
            case 0:
                // Pure noise.
                bytes = (0..<Int.random(in: 0..<96, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            case 1:
                // Noise behind a plausible header, so that the attribute walk runs.
                let body = (0..<(4 * Int.random(in: 0..<24, using: &random))).map { _ in UInt8.random(in: 0...255, using: &random) }
                bytes = withLength([0, 1, 0, 0, 0x21, 0x12, 0xA4, 0x42] + Array(repeating: 9, count: 12) + body, body.count)
            default:
                // A valid message with a few bytes changed, maybe cut or extended.
                bytes = Self.seeds[Int.random(in: 0..<Self.seeds.count, using: &random)]
                for _ in 0..<Int.random(in: 1...4, using: &random) {
                    bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                }
                switch Int.random(in: 0..<4, using: &random) {
                case 0: bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &random)))
                case 1: bytes += [UInt8.random(in: 0...255, using: &random), 0, 0, 0]
                default: break
                }
                if Bool.random(using: &random), bytes.count >= 4 { bytes = withLength(bytes, bytes.count - 20) }
            }
            _ = looksLikeSTUN(bytes)
            _ = peekUsername(bytes)
            _ = verify(bytes, password: "k")
            guard let message = try? parse(bytes) else { continue }
            parsed += 1
            let kept = message.attributes.filter {
                switch $0 {
                case .messageIntegrity, .fingerprint: return false
                default: return true
                }
            }
            let again = try parse(message.encode(fingerprint: false))
            #expect(again.attributes == kept, "iteration \(iteration)")
            #expect(again.messageClass == message.messageClass && again.method == message.method)
            #expect(again.transactionID == message.transactionID)
        }
        // The mutation half must actually exercise successful parses, or the loop proves little.
        #expect(parsed > 5_000)
    }
}
