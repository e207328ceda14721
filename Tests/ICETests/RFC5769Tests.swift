// RFC 5769 test vectors: parsing, MESSAGE-INTEGRITY, FINGERPRINT and XOR-MAPPED-ADDRESS
// against bytes another implementation produced.
import Testing
@testable import ICE

@Suite struct RFC5769Tests {
    @Test func sampleRequest() throws {
        let message = try parse(RFC5769.request)
        #expect(message.messageClass == .request)
        #expect(message.method == .binding)
        #expect(message.transactionID == STUNTransactionID(bytes: RFC5769.transactionID))
        #expect(message.attributes == [
            .software("STUN test client"),
            .priority(0x6E00_01FF),
            .iceControlled(0x932F_F9B1_5126_3B36),
            .username("evtj:h6vY"),
            .messageIntegrity(hex("9aeaa70c bfd8cb56 781ef2b5 b2d3f249 c1b571a2")),
            .fingerprint(0xE57A_3BCF),
        ])
        #expect(message.username == "evtj:h6vY")
        #expect(message.priority == 0x6E00_01FF)
        #expect(message.iceControlled == 0x932F_F9B1_5126_3B36)
        #expect(message.iceControlling == nil)
        #expect(!message.useCandidate)
        #expect(verify(RFC5769.request, password: RFC5769.password))
        #expect(!verify(RFC5769.request, password: "VOkJxbRl1RmTxUk/WvJxBT"))
        #expect(peekUsername(RFC5769.request) == "evtj:h6vY")
        #expect(looksLikeSTUN(RFC5769.request))
    }

    @Test func sampleIPv4Response() throws {
        let message = try parse(RFC5769.ipv4Response)
        #expect(message.messageClass == .successResponse)
        #expect(message.method == .binding)
        #expect(message.software == "test vector")
        #expect(message.xorMappedAddress == TransportAddress(ip: .v4(192, 0, 2, 1), port: 32853))
        #expect(message.fingerprint == 0xC07D_4C96)
        #expect(verify(RFC5769.ipv4Response, password: RFC5769.password))
        #expect(peekUsername(RFC5769.ipv4Response) == nil)
    }

    @Test func sampleIPv6Response() throws {
        let message = try parse(RFC5769.ipv6Response)
        #expect(message.messageClass == .successResponse)
        let expected = TransportAddress(string: "2001:db8:1234:5678:11:2233:4455:6677", port: 32853)
        #expect(expected != nil)
        #expect(message.xorMappedAddress == expected)
        #expect(message.fingerprint == 0xC8FB_0B4C)
        #expect(verify(RFC5769.ipv6Response, password: RFC5769.password))
    }

    /// Every byte of a vector is covered by FINGERPRINT: any single flipped bit must be caught
    /// (or, in the first bytes, rejected by the header checks). The exception is FINGERPRINT's
    /// own type field: a flip there can turn it into an unknown attribute, which is legal.
    @Test func everyFlippedBitIsRejected() {
        for vector in RFC5769.all {
            let fingerprintType = (vector.count - 8)..<(vector.count - 6)
            for index in vector.indices where !fingerprintType.contains(index) {
                for bit in 0..<8 {
                    var corrupted = vector
                    corrupted[index] ^= 1 << bit
                    #expect(throws: STUNError.self) { try parse(corrupted) }
                }
            }
        }
    }

    /// The MESSAGE-INTEGRITY of each vector, recomputed by our encoder from the decoded
    /// attributes, verifies again (padding differs: the vectors pad with spaces, we with zeros).
    @Test func reencodedVectorsVerify() throws {
        for vector in RFC5769.all {
            let message = try parse(vector)
            let encoded = message.encode(integrityKey: Array(RFC5769.password.utf8), fingerprint: true)
            #expect(encoded.count == vector.count)
            #expect(verify(encoded, password: RFC5769.password))
            let again = try parse(encoded)
            #expect(again.attributes.dropLast(2) == message.attributes.dropLast(2))
        }
    }
}
