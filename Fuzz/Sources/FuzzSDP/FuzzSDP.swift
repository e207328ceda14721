// libFuzzer entry point for SDP as WHIP, WHEP and group calls receive it: parsing
// (RFC 8866), negotiation of an offer (SDPNegotiator: codecs, BUNDLE, ICE and DTLS parameters)
// and, when it is accepted, Chorus's answer, which must itself parse and negotiate no
// differently: an answer Chorus cannot read back would be one a browser may refuse.

import SDP
import CLibFuzzer
import Glibc

private enum Fixture {
    static let local = LocalTransport(
        iceUfrag: "fuzzufrag", icePwd: "fuzzpasswordfuzzpassword",
        fingerprintSHA256: "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89",
        candidateIP: "127.0.0.1", candidatePort: 40000)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSDP(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    // Bodies reach the parser as Strings decoded from UTF-8 with replacement, as Hummingbird's
    // String(buffer:) does.
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    // Negotiation parses the offer first. Whether inactive m-lines are kept (group calls keep
    // them, WHIP does not) comes from the input's length, so that each run negotiates once and
    // the fuzzer still reaches both.
    guard let negotiated = try? SDPNegotiator.negotiate(offer: text, keepInactive: size & 1 == 1) else { return 0 }
    let outgoing = Dictionary(
        negotiated.media.map { ($0.mid, OutgoingStream(ssrc: 0x1234_5678, cname: "fuzz", streamID: "fuzz-stream", trackID: "fuzz-track")) },
        uniquingKeysWith: { first, _ in first })
    let answer = SDPNegotiator.answer(to: negotiated, local: Fixture.local, outgoing: outgoing, sessionID: 42)
    do {
        let parsed = try SessionDescription(parsing: answer)
        guard parsed.media.count == negotiated.offer.media.count else {
            fatalError("the answer has \(parsed.media.count) m-lines for an offer of \(negotiated.offer.media.count):\n\(answer)")
        }
    } catch {
        fatalError("Chorus's answer does not parse (\(error)):\n\(answer)")
    }
    return 0
}

// SwiftPM makes this file's top-level code the program's main (see CLibFuzzer/shim.h).
var argumentCount = CommandLine.argc
var arguments = Optional(CommandLine.unsafeArgv)
exit(LLVMFuzzerRunDriver(&argumentCount, &arguments) { data, size in fuzzSDP(data!, size) })
