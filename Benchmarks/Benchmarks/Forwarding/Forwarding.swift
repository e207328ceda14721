// The whole forward step of the SFU, in memory: one SRTP packet from a publisher goes through
// MediaCore.handleDatagram (demux → unprotect → parse → Producer → each Consumer rewrites and
// protects into the SendQueue) for 1 and 10 subscribers. One incoming packet per inner
// iteration; the SendQueue's flush handler only counts what a worker would hand to sendmmsg.

import Benchmark
import BenchSupport
import ICE
import RTP
import SFU

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = perPacketConfiguration(warmupIterations: 5, maxIterations: 1_000)

    for profile in [SRTPProfile.aeadAes128Gcm, .aes128CmHmacSha1_80] {
        for fanOut in [1, 10] {
            let profileName = profile == .aeadAes128Gcm ? "AEAD_AES_128_GCM" : "AES128_CM_SHA1_80"
            Benchmark("Forward 1200 B to \(fanOut) subscriber\(fanOut == 1 ? "" : "s"), \(profileName)") {
                (benchmark: Benchmark, room: InMemoryRoom) in
                // Outside the measured region: 1000 fresh packets from the publisher (SRTP's
                // replay window rejects any packet the SFU has seen).
                room.preparePackets()
                let now = ContinuousClock.now
                benchmark.startMeasurement()
                for i in benchmark.scaledIterations {
                    room.core.handleDatagram(room.batch.packet(i), from: room.publisherAddress, now: now)
                }
                room.core.queue.flush()
                benchmark.stopMeasurement()
                room.checkIteration(packets: benchmark.scaledIterations.count)
            } setup: {
                try InMemoryRoom(fanOut: fanOut, profile: profile, batchSize: BenchmarkScalingFactor.kilo.rawValue)
            }
        }
    }
}
