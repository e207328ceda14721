// libFuzzer entry point for what the media port does with a datagram whose first byte is
// 20-63 (RFC 7983 §7): DTLS records into the SFU's server endpoint (OpenSSL behind memory
// BIOs, Sources/SFU/DTLS). The input is a flight of datagrams, each as a 2-byte big-endian
// length and that many bytes (a length past the end takes the rest), fed in order to a fresh
// server endpoint as WebRTCTransport.handleDTLS does; every datagram the endpoint queues is
// drained, and its retransmission timer is run. Seeds are real ClientHellos (with use_srtp).

import RTP
import SFU
import CLibFuzzer
import Glibc

private enum Fixture {
    /// One certificate and SSL_CTX for all runs, as a worker has: making them is the slow part.
    static let context: DTLSContext = {
        do {
            return try DTLSContext(certificate: DTLSCertificate())
        } catch {
            fatalError("DTLS context: \(error)")
        }
    }()
    static let peerFingerprint = DTLSFingerprint(algorithm: "sha-256", bytes: Array(repeating: 0xAB, count: 32))
    /// Time is an input: a fixed start, moved forward per datagram, never read from a clock per run.
    static let start = ContinuousClock.now
    /// Runs are sequential on libFuzzer's one thread.
    nonisolated(unsafe) static let transmit = UnsafeMutableRawBufferPointer.allocate(byteCount: 2048, alignment: 16)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDTLS(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let endpoint: DTLSEndpoint
    do {
        endpoint = try DTLSEndpoint(context: Fixture.context, role: .server, remoteFingerprints: [Fixture.peerFingerprint])
    } catch {
        fatalError("DTLS endpoint: \(error)")
    }
    var now = Fixture.start
    let transmit = Fixture.transmit
    var offset = 0
    while offset + 2 <= input.count {
        let declared = Int(input[offset]) << 8 | Int(input[offset + 1])
        let length = min(declared, input.count - offset - 2)
        let datagram = UnsafeRawBufferPointer(rebasing: input[(offset + 2)..<(offset + 2 + length)])
        offset += 2 + length
        endpoint.handle(datagram: datagram, now: now)
        while let sent = endpoint.pollTransmit(into: transmit) {
            guard sent <= transmit.count else { fatalError("DTLS transmit of \(sent) bytes into \(transmit.count)") }
        }
        now += .milliseconds(10)
    }
    endpoint.handleTimeout(now: now + .seconds(5))
    while endpoint.pollTransmit(into: transmit) != nil {}
    _ = endpoint.srtpKeys
    endpoint.close()
    OPENSSL_thread_stop()
    return 0
}

// SwiftPM makes this file's top-level code the program's main (see CLibFuzzer/shim.h).
var argumentCount = CommandLine.argc
var arguments = Optional(CommandLine.unsafeArgv)
exit(LLVMFuzzerRunDriver(&argumentCount, &arguments) { data, size in fuzzDTLS(data!, size) })
