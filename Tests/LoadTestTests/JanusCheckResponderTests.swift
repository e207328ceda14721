// The peer's answers to an SFU's own connectivity checks (Janus's libnice sends them): only
// authenticated Binding requests get a success response, keyed with our password and naming
// the request's source.

import ICE
import Testing
@testable import LoadTest

@Suite struct JanusCheckResponderTests {
    static let ours = ICECredentials(ufrag: "LoCa", pwd: "our-password-of-24-chars")
    static let theirs = ICECredentials(ufrag: "NUCx", pwd: "Le+hHgwhcva/BlW+Q+nk0X")
    static let source = TransportAddress(ip: .v4(127, 0, 0, 1), port: 40200)
    let responder = ICECheckResponder(local: ours, remote: theirs)

    /// A check as libnice sends it: controlled, keyed with our password.
    static func check(username: String = "LoCa:NUCx", password: String = ours.pwd) -> (STUNTransactionID, [UInt8]) {
        let id = STUNTransactionID.random()
        let request = STUNMessage(
            messageClass: .request, method: .binding, transactionID: id,
            attributes: [.username(username), .priority(0x6E20_01FF), .iceControlled(9_836_615_282_623_864_811)])
        return (id, request.encode(integrityKey: Array(password.utf8), fingerprint: true))
    }

    @Test func answersAnAuthenticatedCheck() throws {
        let (id, bytes) = Self.check()
        let response = try #require(bytes.withUnsafeBytes { responder.response(to: $0, from: Self.source) })
        try response.withUnsafeBytes { raw in
            let message = try STUNMessage(parsing: raw)
            #expect(message.messageClass == .successResponse && message.method == .binding)
            #expect(message.transactionID == id)
            #expect(message.xorMappedAddress == Self.source)
            #expect(STUNMessage.verifyMessageIntegrity(raw, key: Array(Self.ours.pwd.utf8)))
        }
    }

    @Test func ignoresWhatIsNotItsToAnswer() {
        let refused: [[UInt8]] = [
            Self.check(username: "NUCx:LoCa").1,  // the username of our own checks
            Self.check(username: "LoCa:other").1,
            Self.check(password: Self.theirs.pwd).1,
            // Our own check's shape and a response are for ClientTransport, not for us.
            STUNMessage.bindingRequest(username: "NUCx:LoCa", password: Self.theirs.pwd, priority: 1, tieBreaker: 2, useCandidate: true).1,
            STUNMessage(messageClass: .successResponse, method: .binding, transactionID: .random(), attributes: [.xorMappedAddress(Self.source)])
                .encode(integrityKey: Array(Self.ours.pwd.utf8), fingerprint: true),
            STUNMessage(messageClass: .request, method: .binding, transactionID: .random(), attributes: [.username("LoCa:NUCx")])
                .encode(integrityKey: nil, fingerprint: true),
            [0x16, 0xFE, 0xFD, 0, 0],  // DTLS
            [],
        ]
        for bytes in refused {
            #expect(bytes.withUnsafeBytes { responder.response(to: $0, from: Self.source) } == nil)
        }
    }

    @Test func randomAndTruncatedBytesNeverCrash() {
        var generator = SplitMix64(seed: 0x1CE)
        let valid = Self.check().1
        for n in 0..<valid.count {
            #expect(Array(valid.prefix(n)).withUnsafeBytes { responder.response(to: $0, from: Self.source) } == nil)
        }
        for _ in 0..<2000 {
            var bytes = valid
            bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            _ = bytes.withUnsafeBytes { responder.response(to: $0, from: Self.source) }
            let noise = (0..<Int.random(in: 0...120, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            _ = noise.withUnsafeBytes { responder.response(to: $0, from: Self.source) }
        }
    }
}
