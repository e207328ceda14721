// Helpers shared by the RTP tests: a seeded generator for fuzz loops and packet builders.
import RTP

/// SplitMix64: a tiny seeded generator, so fuzz failures reproduce.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &self) }
    }
}

func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }
func be32(_ v: UInt32) -> [UInt8] { be16(UInt16(v >> 16)) + be16(UInt16(v & 0xFFFF)) }

/// The RTP parse error for these bytes, or nil when they parse.
func rtpParseError(_ bytes: [UInt8]) -> RTPParseError? {
    bytes.withUnsafeBytes { raw -> RTPParseError? in
        do throws(RTPParseError) {
            _ = try RTPPacket(parsing: raw)
            return nil
        } catch {
            return error
        }
    }
}

/// The RTCP parse result for these bytes.
func parseRTCP(_ bytes: [UInt8]) -> Result<[RTCPPacket], RTCPParseError> {
    bytes.withUnsafeBytes { raw -> Result<[RTCPPacket], RTCPParseError> in
        do throws(RTCPParseError) {
            return .success(try RTCPCompound.parse(raw))
        } catch {
            return .failure(error)
        }
    }
}
