// libFuzzer entry point for the STUN codec (RFC 8489) as a media port meets it: the RFC 7983
// quick test, USERNAME routing, full parsing with the FINGERPRINT check, MESSAGE-INTEGRITY
// verification, and re-encoding what parsed. Anything that parses must encode and parse again
// to the same message: a parser that accepts what the encoder cannot write back is a bug too.

import ICE
import CLibFuzzer
import Glibc

private enum Fixture {
    /// The password the seed requests were signed with (Corpus/make-seeds.py), so that mutations
    /// of them reach the HMAC comparison and beyond.
    static let password = Array("fuzz-password-0123456789".utf8)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSTUN(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    _ = STUNMessage.looksLikeSTUN(bytes)
    _ = STUNMessage.peekUsername(bytes)
    _ = STUNMessage.verifyMessageIntegrity(bytes, key: Fixture.password)
    guard let message = try? STUNMessage(parsing: bytes) else { return 0 }
    _ = (message.username, message.priority, message.useCandidate, message.iceControlling, message.iceControlled)
    _ = (message.xorMappedAddress, message.errorCode, message.software, message.messageIntegrity, message.fingerprint)
    _ = message.unknownComprehensionRequiredAttributes
    let encoded = message.encode(integrityKey: Fixture.password, fingerprint: true)
    let again = encoded.withUnsafeBytes { try? STUNMessage(parsing: $0) }
    guard let again else { fatalError("a parsed STUN message re-encodes to bytes that do not parse: \(message)") }
    guard encoded.withUnsafeBytes({ STUNMessage.verifyMessageIntegrity($0, key: Fixture.password) }) else {
        fatalError("a re-encoded STUN message fails its own MESSAGE-INTEGRITY: \(message)")
    }
    guard again.messageClass == message.messageClass, again.method == message.method,
        again.transactionID == message.transactionID
    else { fatalError("a STUN header changed in a round trip: \(message) became \(again)") }
    return 0
}

// SwiftPM makes this file's top-level code the program's main (see CLibFuzzer/shim.h).
var argumentCount = CommandLine.argc
var arguments = Optional(CommandLine.unsafeArgv)
exit(LLVMFuzzerRunDriver(&argumentCount, &arguments) { data, size in fuzzSTUN(data!, size) })
