// Helpers shared by the RTP tests: a seeded generator for fuzz loops and packet builders.
import RTP


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
