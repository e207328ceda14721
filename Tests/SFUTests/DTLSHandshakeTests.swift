// Two DTLS endpoints (client and server) over an in-memory link: the handshake completes,
// both sides derive mirrored SRTP keys, a wrong fingerprint fails, and loss is repaired by
// retransmission timers driven by a fake clock.

import ChorusTestSupport
import Testing
import RTP
@testable import SFU

/// Moves datagrams between two endpoints; `drop` decides per datagram (index) what is lost.
private func pump(
    _ a: DTLSEndpoint, _ b: DTLSEndpoint, now: ContinuousClock.Instant, drop: (Int) -> Bool = { _ in false },
    counter: inout Int
) -> Int {
    var moved = 0
    for (from, to) in [(a, b), (b, a)] {
        while let datagram = from.pollTransmit() {
            counter += 1
            moved += 1
            if drop(counter) { continue }
            datagram.withUnsafeBytes { to.handle(datagram: $0, now: now) }
        }
    }
    return moved
}

@Suite struct DTLSHandshakeTests {
    let serverCertificate: DTLSCertificate
    let clientCertificate: DTLSCertificate

    init() throws {
        serverCertificate = try DTLSCertificate()
        clientCertificate = try DTLSCertificate()
    }

    @Test func fingerprintIsSHA256OfTheCertificate() {
        #expect(serverCertificate.fingerprint.algorithm == "sha-256")
        #expect(serverCertificate.fingerprint.bytes.count == 32)
        #expect(serverCertificate.fingerprint != clientCertificate.fingerprint)
        let hex = serverCertificate.fingerprint.hex
        #expect(DTLSFingerprint(algorithm: "SHA-256", hex: hex) == serverCertificate.fingerprint)
        #expect(DTLSFingerprint(algorithm: "sha-256", hex: "zz:01") == nil)
        #expect(DTLSFingerprint(algorithm: "sha-256", hex: "") == nil)
    }

    @Test(arguments: [[SRTPProfile.aeadAes128Gcm, .aes128CmHmacSha1_80], [.aes128CmHmacSha1_80]])
    func handshakeExportsMirroredKeys(clientProfiles: [SRTPProfile]) throws {
        let server = try DTLSEndpoint(
            context: DTLSContext(certificate: serverCertificate), role: .server,
            remoteFingerprints: [clientCertificate.fingerprint])
        let client = try DTLSEndpoint(
            context: DTLSContext(certificate: clientCertificate, profiles: clientProfiles), role: .client,
            remoteFingerprints: [serverCertificate.fingerprint])
        let now = ContinuousClock.now
        client.start(now: now)
        var counter = 0
        for _ in 0..<10 where pump(client, server, now: now, counter: &counter) > 0 {}
        #expect(server.state == .connected)
        #expect(client.state == .connected)
        let s = try #require(server.srtpKeys)
        let c = try #require(client.srtpKeys)
        #expect(s.profile == clientProfiles[0])
        #expect(s.local == c.remote)
        #expect(s.remote == c.local)
        #expect(s.local != s.remote)
    }

    @Test func wrongFingerprintFailsTheHandshake() throws {
        let stranger = try DTLSCertificate()
        let server = try DTLSEndpoint(
            context: DTLSContext(certificate: serverCertificate), role: .server,
            remoteFingerprints: [stranger.fingerprint])
        let client = try DTLSEndpoint(
            context: DTLSContext(certificate: clientCertificate), role: .client,
            remoteFingerprints: [serverCertificate.fingerprint])
        let now = ContinuousClock.now
        client.start(now: now)
        var counter = 0
        for _ in 0..<10 where pump(client, server, now: now, counter: &counter) > 0 {}
        guard case .failed = server.state else {
            Issue.record("server accepted a certificate that is not in the SDP: \(server.state)")
            return
        }
        #expect(server.srtpKeys == nil)
    }

    /// The first two flights are lost and the retransmission timers repair them. OpenSSL checks
    /// timer expiry against the wall clock, so this test waits for real (100 ms, then 200 ms).
    @Test func lostFlightsAreRetransmittedOnTimeout() async throws {
        let server = try DTLSEndpoint(
            context: DTLSContext(certificate: serverCertificate), role: .server,
            remoteFingerprints: [clientCertificate.fingerprint])
        let client = try DTLSEndpoint(
            context: DTLSContext(certificate: clientCertificate), role: .client,
            remoteFingerprints: [serverCertificate.fingerprint])
        var now = ContinuousClock.now
        client.start(now: now)
        var counter = 0
        let lost: Set<Int> = [1, 2]
        for _ in 0..<40 {
            _ = pump(client, server, now: now, drop: { lost.contains($0) }, counter: &counter)
            if client.state == .connected && server.state == .connected { break }
            let deadlines = [client.nextTimeout, server.nextTimeout].compactMap { $0 }
            guard let next = deadlines.min() else { break }
            try await Task.sleep(until: next + .milliseconds(5), clock: .continuous)
            now = max(ContinuousClock.now, next)
            client.handleTimeout(now: now)
            server.handleTimeout(now: now)
        }
        #expect(client.state == .connected)
        #expect(server.state == .connected)
    }

    @Test func garbageDatagramsDoNotCrashOrConnect() throws {
        let server = try DTLSEndpoint(
            context: DTLSContext(certificate: serverCertificate), role: .server,
            remoteFingerprints: [clientCertificate.fingerprint])
        var generator = SeededGenerator(seed: 42)
        let now = ContinuousClock.now
        for _ in 0..<2000 {
            let length = Int.random(in: 1...300, using: &generator)
            var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            bytes[0] = UInt8.random(in: 20...63, using: &generator)  // DTLS content types
            bytes.withUnsafeBytes { server.handle(datagram: $0, now: now) }
            while server.pollTransmit() != nil {}
        }
        #expect(server.state != .connected)
        #expect(server.srtpKeys == nil)
    }
}

