// The forwarding benchmark's loop without the harness, so that valgrind can tell where time and
// allocations go: `valgrind --tool=dhat --num-callers=40 ForwardingProbe 10 gcm 3000` lists every
// allocation site with its count; callgrind counts instructions per function.
// Usage: ForwardingProbe [fan-out=10] [gcm|cm] [packets=20000] [temporal]
// (`temporal`: VP8 with temporal layers and every subscriber capped, see InMemoryRoom).

import BenchSupport
import RTP

let arguments = CommandLine.arguments
let fanOut = arguments.count > 1 ? Int(arguments[1]) ?? 10 : 10
let profile: SRTPProfile = arguments.count > 2 && arguments[2] == "cm" ? .aes128CmHmacSha1_80 : .aeadAes128Gcm
let packets = arguments.count > 3 ? Int(arguments[3]) ?? 20_000 : 20_000
let temporalLayers = arguments.count > 4 && arguments[4] == "temporal"

/// The measured loop, kept out of line so that `callgrind --toggle-collect='*forwardBatch*'`
/// counts it alone.
@inline(never)
func forwardBatch(_ room: InMemoryRoom, now: ContinuousClock.Instant) {
    for i in 0..<room.batch.count {
        room.core.handleDatagram(room.batch.packet(i), from: room.publisherAddress, now: now)
    }
    room.core.queue.flush()
}

let room = try InMemoryRoom(fanOut: fanOut, profile: profile, batchSize: 1_000, temporalLayers: temporalLayers)
let now = ContinuousClock.now
var forwarded = 0
let start = ContinuousClock.now
var measured = Duration.zero
for _ in 0..<(packets / room.batch.count) {
    room.preparePackets()
    let begin = ContinuousClock.now
    forwardBatch(room, now: now)
    measured += ContinuousClock.now - begin
    room.checkIteration(packets: room.batch.count)
    forwarded += room.batch.count
}
let perPacket = Double(measured.components.seconds) * 1e9 + Double(measured.components.attoseconds) / 1e9
print("\(forwarded) packets to \(fanOut) subscribers (\(profile)): \(perPacket / Double(max(forwarded, 1))) ns/packet in the forward loop, \(ContinuousClock.now - start) in all")
