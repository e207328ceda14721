// SRTP benchmarks over both backends, libsrtp2 (LibSRTPContext) and OpenSSL EVP
// (OpenSSLSRTPContext): protect and unprotect of one RTP packet, both profiles, 1200-byte and
// 100-byte packets (header included, as the plain-C reference figures in Benchmarks/README.md count them). Each iteration refills 1000 slots
// outside the measured region, then protects or unprotects them in place: the replay window
// rejects any packet seen before.

import Benchmark
import BenchSupport
import RTP

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = perPacketConfiguration(warmupIterations: 5, maxIterations: 1_000)

    for backend in [Backend.libsrtp, .openSSL] {
        for profile in [SRTPProfile.aes128CmHmacSha1_80, .aeadAes128Gcm] {
            for size in [1200, 100] {
                protectBenchmark(backend, profile: profile, size: size)
                unprotectBenchmark(backend, profile: profile, size: size)
            }
        }
    }
}

/// Which SRTPContext implementation a benchmark measures.
private enum Backend {
    case libsrtp
    case openSSL

    func context(_ profile: SRTPProfile, _ key: SRTPMasterKey, _ direction: SRTPDirection) throws -> any SRTPContext {
        switch self {
        case .libsrtp: try LibSRTPContext(profile: profile, masterKey: key, direction: direction)
        case .openSSL: try OpenSSLSRTPContext(profile: profile, masterKey: key, direction: direction)
        }
    }
}

/// libsrtp's names are unchanged from before the OpenSSL backend existed, so that earlier
/// results and baselines still line up.
private func name(_ backend: Backend, _ operation: String, _ profile: SRTPProfile, _ size: Int) -> String {
    let prefix = backend == .openSSL ? "SRTP OpenSSL" : "SRTP"
    return "\(prefix) \(operation) \(profile == .aeadAes128Gcm ? "AEAD_AES_128_GCM" : "AES128_CM_SHA1_80") (\(size) B)"
}

/// A stream of plain packets with increasing sequence numbers, written into a batch.
private final class PlainStream {
    let template: [UInt8]
    var sequence: UInt16 = 1

    init(size: Int) {
        template = Fixtures.rtpPacket(size: size, sequenceNumber: 0, ssrc: 0xCAFE_F00D)
    }

    func fill(_ batch: PacketBatch) {
        template.withUnsafeBytes { plain in
            for i in 0..<batch.count {
                let slot = batch.slot(i)
                slot.copyMemory(from: plain)
                Fixtures.storeSequenceNumber(sequence, in: slot)
                sequence &+= 1
                batch.lengths[i] = plain.count
            }
        }
    }
}

private func protectBenchmark(_ backend: Backend, profile: SRTPProfile, size: Int) {
    Benchmark(name(backend, "protect", profile, size)) {
        (benchmark: Benchmark, state: (any SRTPContext, PlainStream, PacketBatch)) in
        let (context, stream, batch) = state
        stream.fill(batch)
        benchmark.startMeasurement()
        for i in benchmark.scaledIterations {
            do {
                batch.lengths[i] = try context.protectRTP(
                    batch.base + i * PacketBatch.slotSize, length: batch.lengths[i], capacity: PacketBatch.slotSize)
            } catch {
                fatalError("protect failed: \(error)")
            }
        }
    } setup: {
        let context = try backend.context(profile, Fixtures.masterKey(profile), .outbound)
        return (context, PlainStream(size: size), PacketBatch(count: 1_000))
    }
}

private func unprotectBenchmark(_ backend: Backend, profile: SRTPProfile, size: Int) {
    Benchmark(name(backend, "unprotect", profile, size)) {
        (benchmark: Benchmark, state: (any SRTPContext, any SRTPContext, PlainStream, PacketBatch)) in
        let (sender, receiver, stream, batch) = state
        stream.fill(batch)
        for i in 0..<batch.count {
            batch.lengths[i] = try! sender.protectRTP(
                batch.base + i * PacketBatch.slotSize, length: batch.lengths[i], capacity: PacketBatch.slotSize)
        }
        benchmark.startMeasurement()
        for i in benchmark.scaledIterations {
            do {
                blackHole(try receiver.unprotectRTP(batch.base + i * PacketBatch.slotSize, length: batch.lengths[i]))
            } catch {
                fatalError("unprotect failed: \(error)")
            }
        }
    } setup: {
        let key = Fixtures.masterKey(profile)
        let sender = try backend.context(profile, key, .outbound)
        let receiver = try backend.context(profile, key, .inbound)
        return (sender, receiver, PlainStream(size: size), PacketBatch(count: 1_000))
    }
}
