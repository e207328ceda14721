// Parsing benchmarks: the RTP view every forwarded packet gets, and the STUN parse + MESSAGE-
// INTEGRITY check every ICE binding request (consent freshness, RFC 7675) gets. One packet per
// inner iteration; the scaling factor makes the reported figures per packet.

import Benchmark
import BenchSupport
import ICE
import RTP

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = perPacketConfiguration(warmupIterations: 10, maxIterations: 2_000)

    // 1. RTP: parse the header (validating every RFC 8285 element) and find one element, on a
    // 1200-byte packet with abs-send-time, transport-cc and MID in the one-byte form.
    Benchmark("RTP parse + header extension lookup (1200 B)") { benchmark in
        let bytes = Fixtures.rtpPacket(size: 1200, sequenceNumber: 1, ssrc: 0x1234_5678)
        bytes.withUnsafeBytes { raw in
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                do {
                    let packet = try RTPPacket(parsing: raw)
                    blackHole(packet.headerExtension(id: Fixtures.transportCCExtensionID))
                    blackHole(packet.payload.count)
                } catch {
                    fatalError("fixture does not parse: \(error)")
                }
            }
        }
    }

    // 2. STUN: what the ICE-lite agent does with a binding request from a controlling peer:
    // parse (FINGERPRINT checked inside) and verify MESSAGE-INTEGRITY with our password. The
    // two halves are also measured alone, to tell where the time and the mallocs go.
    let local = ICECredentials(ufrag: "sfuU", pwd: "sfuPasswordOf22Chars00")
    let remote = ICECredentials(ufrag: "peerUfrag", pwd: "peerPasswordOf22Chars0")
    let (_, request) = STUNMessage.bindingRequest(
        username: "\(local.ufrag):\(remote.ufrag)", password: local.pwd, priority: 0x6E00_1EFF,
        tieBreaker: 0x0123_4567_89AB_CDEF, useCandidate: true)
    let key = Array(local.pwd.utf8)

    Benchmark("STUN parse + MESSAGE-INTEGRITY verify (binding request)") { benchmark in
        request.withUnsafeBytes { raw in
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                do {
                    let message = try STUNMessage(parsing: raw)
                    blackHole(message.useCandidate)
                    precondition(STUNMessage.verifyMessageIntegrity(raw, key: key))
                } catch {
                    fatalError("fixture does not parse: \(error)")
                }
            }
        }
    }

    Benchmark("STUN parse only (binding request)") { benchmark in
        request.withUnsafeBytes { raw in
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                do {
                    blackHole(try STUNMessage(parsing: raw))
                } catch {
                    fatalError("fixture does not parse: \(error)")
                }
            }
        }
    }

    Benchmark("STUN MESSAGE-INTEGRITY verify only (binding request)") { benchmark in
        request.withUnsafeBytes { raw in
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                precondition(STUNMessage.verifyMessageIntegrity(raw, key: key))
            }
        }
    }

    // The harness's own cost per iteration (of 1000 packets). Measuring throughput and CPU
    // time costs it 16 mallocs per iteration (under 1 per packet, so the per-packet figures
    // round it away); with `--metric mallocCountTotal` alone it is 0, and the raw (`--scale`)
    // counts of the others are exact.
    Benchmark("Harness: empty iteration") { benchmark in
        benchmark.startMeasurement()
        for i in benchmark.scaledIterations {
            blackHole(i)
        }
    }
}
