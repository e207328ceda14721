// libFuzzer entry point for compound RTCP (RFC 3550 §6, RFC 4585 feedback, RFC 5104 FIR, REMB):
// whatever parses must serialize to a datagram that parses back to the same known packets
// (unknown packets serialize to nothing; NACK lists may be repacked, a saturated REMB re-encodes).

import RTP
import CLibFuzzer
import Glibc

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRTCP(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    guard let packets = try? RTCPCompound.parse(bytes) else { return 0 }
    let known = packets.filter { if case .unknown = $0 { false } else { true } }
    if known.isEmpty { return 0 }
    let wire = RTCPCompound.serialize(packets)
    guard let again = wire.withUnsafeBytes({ try? RTCPCompound.parse($0) }), again.count >= known.count else {
        fatalError("parsed RTCP serializes to something that does not parse: \(packets)")
    }
    for (original, reparsed) in zip(known, again) {
        switch (original, reparsed) {
        case (.nack(let a), .nack(let b)):
            guard Set(a.lost) == Set(b.lost), a.senderSSRC == b.senderSSRC, a.mediaSSRC == b.mediaSSRC else {
                fatalError("NACK changed in a round trip: \(a) became \(b)")
            }
        case (.remb(let a), .remb(let b)) where a.bitrate == .max:
            guard a.ssrcs == b.ssrcs else { fatalError("REMB changed in a round trip: \(a) became \(b)") }
        default:
            guard original == reparsed else { fatalError("RTCP changed in a round trip: \(original) became \(reparsed)") }
        }
    }
    return 0
}

// SwiftPM makes this file's top-level code the program's main (see CLibFuzzer/shim.h).
var argumentCount = CommandLine.argc
var arguments = Optional(CommandLine.unsafeArgv)
exit(LLVMFuzzerRunDriver(&argumentCount, &arguments) { data, size in fuzzRTCP(data!, size) })
