// STUN encode/parse: round trips, message type packing, and every way a message can be
// malformed (truncation, lying lengths, misplaced FINGERPRINT, bad integrity).
import Testing
@testable import ICE

@Suite struct STUNCodecTests {
    static let transactionID = STUNTransactionID(bytes: Array(1...12))

    static let everyAttribute: [STUNAttribute] = [
        .username("srvU:cliU"),
        .priority(0x7E7F_00FF),
        .iceControlling(0x0123_4567_89AB_CDEF),
        .iceControlled(0xFEDC_BA98_7654_3210),
        .useCandidate,
        .xorMappedAddress(TransportAddress(ip: .v4(203, 0, 113, 7), port: 50000)),
        .xorMappedAddress(TransportAddress(string: "2001:db8::42", port: 3478)!),
        .errorCode(code: 487, reason: "Role Conflict"),
        .software("chorus"),
        .unknown(type: 0xC057, value: [1, 2, 3]),      // odd length: padding
        .unknown(type: 0x0099, value: []),
    ]

    static let message = STUNMessage(
        messageClass: .request, method: .binding, transactionID: transactionID, attributes: everyAttribute)

    @Test func roundTripWithFingerprint() throws {
        let bytes = Self.message.encode(fingerprint: true)
        #expect(bytes.count % 4 == 0)
        let parsed = try parse(bytes)
        #expect(parsed.attributes.dropLast() == Self.message.attributes[...])
        #expect(parsed.attributes.last.map { if case .fingerprint = $0 { true } else { false } } == true)
        #expect(parsed.messageClass == .request && parsed.method == .binding)
        #expect(parsed.transactionID == Self.transactionID)
        #expect(parsed.transactionID.bytes == Array(1...12))
    }

    @Test func roundTripWithoutFingerprint() throws {
        let bytes = Self.message.encode(fingerprint: false)
        #expect(try parse(bytes) == Self.message)
    }

    @Test func roundTripWithIntegrityAndFingerprint() throws {
        let bytes = Self.message.encode(integrityKey: Array("pass".utf8), fingerprint: true)
        let parsed = try parse(bytes)
        #expect(parsed.attributes.count == Self.everyAttribute.count + 2)
        #expect(parsed.messageIntegrity?.count == 20)
        #expect(parsed.fingerprint != nil)
        #expect(verify(bytes, password: "pass"))
        #expect(!verify(bytes, password: "Pass"))
        #expect(!verify(Self.message.encode(fingerprint: true), password: "pass"))  // none present
    }

    @Test func integrityOnlyNoFingerprint() throws {
        let bytes = Self.message.encode(integrityKey: Array("pass".utf8), fingerprint: false)
        #expect(try parse(bytes).fingerprint == nil)
        #expect(verify(bytes, password: "pass"))
    }

    /// Given MESSAGE-INTEGRITY and FINGERPRINT in `attributes` are not copied: encode computes them.
    @Test func encodeIgnoresGivenIntegrityAndFingerprint() throws {
        var message = Self.message
        message.attributes.insert(.messageIntegrity(Array(repeating: 0xAA, count: 20)), at: 0)
        message.attributes.append(.fingerprint(0xDEAD_BEEF))
        #expect(message.encode(fingerprint: false) == Self.message.encode(fingerprint: false))
    }

    @Test func emptyKeyIsAValidKey() {
        let bytes = Self.message.encode(integrityKey: [], fingerprint: true)
        #expect(verify(bytes, password: ""))
        #expect(!verify(bytes, password: "x"))
    }

    @Test func messageTypePacking() {
        #expect(STUNMessageType.encode(.request, .binding) == 0x0001)
        #expect(STUNMessageType.encode(.indication, .binding) == 0x0011)
        #expect(STUNMessageType.encode(.successResponse, .binding) == 0x0101)
        #expect(STUNMessageType.encode(.errorResponse, .binding) == 0x0111)
        // TURN Allocate (0x003) and a method that uses every bit.
        #expect(STUNMessageType.encode(.request, STUNMethod(rawValue: 0x003)) == 0x0003)
        #expect(STUNMessageType.encode(.request, STUNMethod(rawValue: 0xFFF)) == 0x3EEF)
        for method in [0x000, 0x001, 0x00F, 0x010, 0x070, 0x080, 0xF80, 0xFFF, 0xABC] as [UInt16] {
            for messageClass in [STUNClass.request, .indication, .successResponse, .errorResponse] {
                let type = STUNMessageType.encode(messageClass, STUNMethod(rawValue: method))
                #expect(type & 0xC000 == 0)
                let (decodedClass, decodedMethod) = STUNMessageType.decode(type)
                #expect(decodedClass == messageClass && decodedMethod.rawValue == method)
            }
        }
    }

    @Test func headerErrors() {
        let good = Self.message.encode(fingerprint: true)
        #expect(throws: STUNError.tooShort) { try parse([]) }
        #expect(throws: STUNError.tooShort) { try parse(Array(good.prefix(19))) }
        var rtp = good
        rtp[0] = 0x80
        #expect(throws: STUNError.notSTUN) { try parse(rtp) }
        var cookie = good
        cookie[5] ^= 0x01
        #expect(throws: STUNError.badMagicCookie) { try parse(cookie) }
        #expect(throws: STUNError.badLength) { try parse(withLength(good, good.count - 20 - 4)) }
        #expect(throws: STUNError.badLength) { try parse(withLength(good, good.count - 20 + 4)) }
        #expect(throws: STUNError.badLength) { try parse(withLength(good, good.count - 20 - 1)) }
        #expect(throws: STUNError.badLength) { try parse(good + [0, 0, 0, 0]) }
    }

    /// Every prefix of a valid message is rejected (the length field no longer matches).
    @Test func truncatedAtEveryLength() {
        for vector in RFC5769.all + [Self.message.encode(integrityKey: [1, 2, 3], fingerprint: true)] {
            for cut in 0..<vector.count {
                #expect(throws: STUNError.self) { try parse(Array(vector.prefix(cut))) }
                _ = looksLikeSTUN(Array(vector.prefix(cut)))
                _ = peekUsername(Array(vector.prefix(cut)))
                #expect(!verify(Array(vector.prefix(cut)), password: RFC5769.password))
            }
        }
    }

    /// A prefix whose length field is fixed up to match: parses or throws, never crashes, and
    /// never passes the integrity check unless MESSAGE-INTEGRITY itself is complete.
    @Test func truncatedWithAdjustedLength() throws {
        for vector in RFC5769.all {
            for cut in stride(from: 20, through: vector.count, by: 4) {
                let prefix = withLength(Array(vector.prefix(cut)), cut - 20)
                _ = try? parse(prefix)
                let integrityComplete = cut >= vector.count - 8
                #expect(verify(prefix, password: RFC5769.password) == integrityComplete, "cut \(cut)")
            }
        }
    }

    /// Attribute length fields that lie (too short, too long, past the end, 0xFFFF) are rejected.
    @Test func lyingAttributeLengths() {
        let vector = RFC5769.request
        var offsets: [Int] = []
        var offset = 20
        while offset < vector.count {
            offsets.append(offset)
            let length = Int(vector[offset + 2]) << 8 | Int(vector[offset + 3])
            offset += 4 + (length + 3) & ~3
        }
        #expect(offsets == [20, 40, 48, 60, 76, 100])
        for at in offsets {
            let real = Int(vector[at + 2]) << 8 | Int(vector[at + 3])
            let remaining = vector.count - at - 4
            for lie in Set([0, 1, 2, 3, 4, 7, 8, 19, 20, 21, real - 1, real + 1, real + 4, remaining, remaining + 1, 0xFFFF])
            where lie >= 0 && lie != real {
                var bytes = vector
                bytes[at + 2] = UInt8(lie >> 8 & 0xFF)
                bytes[at + 3] = UInt8(lie & 0xFF)
                if lie == remaining, let swallowed = try? parse(bytes) {
                    // A lenient attribute (SOFTWARE) may legally swallow the rest of the message;
                    // then nothing after it, integrity or fingerprint included, remains.
                    #expect(swallowed.messageIntegrity == nil && swallowed.fingerprint == nil)
                    #expect(swallowed.attributes.count == offsets.firstIndex(of: at)! + 1)
                } else {
                    #expect(throws: STUNError.self, "attribute at \(at) claiming \(lie)") { try parse(bytes) }
                }
                _ = peekUsername(bytes)
                _ = verify(bytes, password: RFC5769.password)
            }
        }
        // Without FINGERPRINT to catch the lie, the walk itself must notice the overrun.
        let plain = Self.message.encode(fingerprint: false)
        var overrun = plain
        overrun[20 + 2] = 0xFF
        #expect(throws: STUNError.attributeOverrun) { try parse(overrun) }
        #expect(peekUsername(overrun) == nil)
    }

    @Test func badFingerprint() {
        var bytes = Self.message.encode(fingerprint: true)
        bytes[bytes.count - 1] ^= 0x01
        #expect(throws: STUNError.badFingerprint) { try parse(bytes) }
        var body = Self.message.encode(fingerprint: true)
        body[24] ^= 0x20  // inside USERNAME
        #expect(throws: STUNError.badFingerprint) { try parse(body) }
    }

    @Test func fingerprintMustBeLast() {
        let withFingerprint = Self.message.encode(fingerprint: true)
        let trailing = withFingerprint + [0x80, 0x22, 0x00, 0x00]  // an empty SOFTWARE after it
        #expect(throws: STUNError.fingerprintNotLast) { try parse(withLength(trailing, trailing.count - 20)) }
    }

    @Test func badIntegrity() throws {
        var bytes = Self.message.encode(integrityKey: Array("secret".utf8), fingerprint: false)
        #expect(verify(bytes, password: "secret"))
        bytes[24] ^= 0x01  // inside USERNAME: still parses, no longer verifies
        #expect(try parse(bytes).username == "rrvU:cliU")
        #expect(!verify(bytes, password: "secret"))
        var mac = Self.message.encode(integrityKey: Array("secret".utf8), fingerprint: false)
        mac[mac.count - 1] ^= 0x80
        #expect(!verify(mac, password: "secret"))
    }

    @Test func attributesAfterIntegrityAreIgnored() throws {
        let signed = STUNMessage(
            messageClass: .request, method: .binding, transactionID: Self.transactionID,
            attributes: [.username("real:user")]
        ).encode(integrityKey: Array("k".utf8), fingerprint: false)
        var forged = signed
        STUNAttribute.username("evil:user").encode(into: &forged, transactionID: Self.transactionID)
        STUNAttribute.useCandidate.encode(into: &forged, transactionID: Self.transactionID)
        forged = withLength(forged, forged.count - 20)
        let parsed = try parse(forged)
        #expect(parsed.username == "real:user")
        #expect(!parsed.useCandidate)
        #expect(parsed.attributes.count == 2)
        #expect(peekUsername(forged) == "real:user")
        #expect(verify(forged, password: "k"))
    }

    @Test func duplicateIntegrityIsRejected() {
        var bytes = STUNMessage(messageClass: .request, method: .binding, transactionID: Self.transactionID)
            .encode(integrityKey: [1], fingerprint: false)
        bytes += bytes[20...]
        #expect(throws: STUNError.duplicateIntegrity) { try parse(withLength(bytes, bytes.count - 20)) }
    }

    @Test func knownAttributesWithWrongSizes() {
        // Written by hand: `encode` would refuse to copy a MESSAGE-INTEGRITY.
        func message(type: UInt16, value: [UInt8]) -> [UInt8] {
            var bytes = STUNMessage(messageClass: .request, method: .binding, transactionID: Self.transactionID)
                .encode(fingerprint: false)
            bytes += [UInt8(type >> 8), UInt8(type & 0xFF), 0, UInt8(value.count)] + value
            while bytes.count % 4 != 0 { bytes.append(0) }
            return withLength(bytes, bytes.count - 20)
        }
        let cases: [(UInt16, [UInt8])] = [
            (0x0024, [0, 0, 1]),                     // PRIORITY: 3 bytes
            (0x0025, [0]),                           // USE-CANDIDATE: not empty
            (0x802A, [0, 0, 0, 0]),                  // ICE-CONTROLLING: 4 bytes
            (0x8029, Array(repeating: 0, count: 9)), // ICE-CONTROLLED: 9 bytes
            (0x0008, Array(repeating: 0, count: 19)),// MESSAGE-INTEGRITY: 19 bytes
            (0x0020, [0, 1, 0, 0, 1, 2, 3]),         // XOR-MAPPED-ADDRESS v4: 7 bytes
            (0x0020, [0, 2, 0, 0, 1, 2, 3, 4]),      // XOR-MAPPED-ADDRESS v6 family, v4 size
            (0x0020, [0, 3, 0, 0, 1, 2, 3, 4]),      // unknown family
            (0x0009, [0, 0, 2, 0]),                  // ERROR-CODE class 2
            (0x0009, [0, 0, 4, 100]),                // ERROR-CODE number 100
            (0x0009, [0, 0, 4]),                     // ERROR-CODE too short
            (0x0006, [0x66, 0xFF, 0x66]),            // USERNAME not UTF-8
        ]
        for (type, value) in cases {
            #expect(throws: STUNError.badAttribute(type: type)) { try parse(message(type: type, value: value)) }
        }
        #expect(peekUsername(message(type: 0x0006, value: [0x66, 0xFF])) == nil)
    }

    @Test func looksLikeSTUNQuickTest() {
        #expect(RFC5769.all.allSatisfy(looksLikeSTUN))
        #expect(looksLikeSTUN(Self.message.encode()))
        #expect(!looksLikeSTUN(Array(RFC5769.request.prefix(19))))
        var rtp = RFC5769.request
        rtp[0] = 0x80
        #expect(!looksLikeSTUN(rtp))
        // A DTLS 1.2 handshake record header: content type 22, version fe fd, epoch, sequence.
        let dtls: [UInt8] = [0x16, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x50] + Array(repeating: 0, count: 0x50)
        #expect(!looksLikeSTUN(dtls))
        var noCookie = RFC5769.request
        noCookie[4] = 0
        #expect(!looksLikeSTUN(noCookie))
        #expect(!looksLikeSTUN(withLength(RFC5769.request, 0x57)))
    }

    @Test func unknownComprehensionRequired() throws {
        let message = STUNMessage(
            messageClass: .request, method: .binding, transactionID: Self.transactionID,
            attributes: [.unknown(type: 0x0099, value: []), .unknown(type: 0xC057, value: [0, 0, 0, 1]),
                         .unknown(type: 0x001C, value: Array(repeating: 0, count: 32))])
        #expect(try parse(message.encode()).unknownComprehensionRequiredAttributes == [0x0099])
    }

    @Test func errorCodeAccessor() throws {
        let message = STUNMessage(
            messageClass: .errorResponse, method: .binding, transactionID: Self.transactionID,
            attributes: [.errorCode(code: 401, reason: "Unauthorized")])
        let parsed = try parse(message.encode())
        #expect(parsed.errorCode?.code == 401)
        #expect(parsed.errorCode?.reason == "Unauthorized")
        #expect(parsed.messageClass == .errorResponse)
    }

    @Test func bindingRequestHelper() throws {
        let id = STUNTransactionID(bytes: Array(repeating: 7, count: 12))
        let (returned, bytes) = STUNMessage.bindingRequest(
            username: "srv:cli", password: "pwd", priority: 1234, tieBreaker: 99, useCandidate: true,
            transactionID: id)
        #expect(returned == id)
        let parsed = try parse(bytes)
        #expect(parsed.messageClass == .request && parsed.method == .binding)
        #expect(parsed.username == "srv:cli" && parsed.priority == 1234)
        #expect(parsed.iceControlling == 99 && parsed.useCandidate && parsed.iceControlled == nil)
        #expect(parsed.fingerprint != nil)
        #expect(verify(bytes, password: "pwd"))
        let (randomID, _) = STUNMessage.bindingRequest(
            username: "a:b", password: "p", priority: 1, tieBreaker: 1, useCandidate: false)
        #expect(randomID != id)
        #expect(STUNTransactionID.random() != STUNTransactionID.random())
    }

    @Test func crc32CheckValue() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([]) == 0)
    }
}
