// SRTP/SRTCP over libsrtp2: both DTLS-negotiable profiles round-trip, and forged, replayed
// or truncated packets are refused, across a sequence-number (ROC) rollover.

import Testing
@testable import RTP

private func rtpPacket(seq: UInt16, ssrc: UInt32 = 0x1234_5678, payload: Int = 100) -> [UInt8] {
    var p: [UInt8] = [0x80, 96, UInt8(seq >> 8), UInt8(seq & 0xff), 0, 0, 0x10, 0x00]
    p += [UInt8(ssrc >> 24), UInt8((ssrc >> 16) & 0xff), UInt8((ssrc >> 8) & 0xff), UInt8(ssrc & 0xff)]
    p += (0..<payload).map { UInt8(truncatingIfNeeded: $0 &* 7) }
    return p
}

private func keys(_ profile: SRTPProfile, seed: UInt8) -> SRTPMasterKey {
    SRTPMasterKey(
        key: (0..<profile.keyLength).map { UInt8(truncatingIfNeeded: Int($0) + Int(seed)) },
        salt: (0..<profile.saltLength).map { UInt8(truncatingIfNeeded: Int($0) * 3 + Int(seed)) })
}

private func protect(_ ctx: SRTPContext, _ plain: [UInt8], rtcp: Bool = false) throws -> [UInt8] {
    var buffer = plain + [UInt8](repeating: 0, count: 32)
    let n = try buffer.withUnsafeMutableBytes { b in
        rtcp
            ? try ctx.protectRTCP(b.baseAddress!, length: plain.count, capacity: b.count)
            : try ctx.protectRTP(b.baseAddress!, length: plain.count, capacity: b.count)
    }
    return Array(buffer[0..<n])
}

private func unprotect(_ ctx: SRTPContext, _ cipher: [UInt8], rtcp: Bool = false) throws(SRTPError) -> [UInt8] {
    var buffer = cipher
    let n: Int
    do {
        n = try buffer.withUnsafeMutableBytes { b in
            rtcp
                ? try ctx.unprotectRTCP(b.baseAddress!, length: cipher.count)
                : try ctx.unprotectRTP(b.baseAddress!, length: cipher.count)
        }
    } catch let error as SRTPError {
        throw error
    } catch {
        throw .badPacket
    }
    return Array(buffer[0..<n])
}

@Suite struct SRTPTests {
    static let profiles: [SRTPProfile] = [.aes128CmHmacSha1_80, .aeadAes128Gcm]

    @Test(arguments: profiles) func rtpRoundTripAddsTagAndHidesPayload(profile: SRTPProfile) throws {
        let tx = try LibSRTPContext(profile: profile, masterKey: keys(profile, seed: 1), direction: .outbound)
        let rx = try LibSRTPContext(profile: profile, masterKey: keys(profile, seed: 1), direction: .inbound)
        let plain = rtpPacket(seq: 1)
        let cipher = try protect(tx, plain)
        #expect(cipher.count == plain.count + profile.rtpOverhead)
        #expect(Array(cipher[0..<12]) == Array(plain[0..<12]))  // header stays in the clear
        #expect(Array(cipher[12..<plain.count]) != Array(plain[12...]))
        #expect(try unprotect(rx, cipher) == plain)
    }

    @Test(arguments: profiles) func rtcpRoundTrip(profile: SRTPProfile) throws {
        let tx = try LibSRTPContext(profile: profile, masterKey: keys(profile, seed: 2), direction: .outbound)
        let rx = try LibSRTPContext(profile: profile, masterKey: keys(profile, seed: 2), direction: .inbound)
        // PLI: V=2 FMT=1 PT=206 length=2, sender and media SSRC.
        let pli: [UInt8] = [0x81, 206, 0, 2, 0, 0, 0, 1, 0x12, 0x34, 0x56, 0x78]
        let cipher = try protect(tx, pli, rtcp: true)
        #expect(cipher.count == pli.count + profile.rtcpOverhead)
        #expect(try unprotect(rx, cipher, rtcp: true) == pli)
    }

    @Test(arguments: profiles) func forgedTagAndWrongKeyAreRefused(profile: SRTPProfile) throws {
        let tx = try LibSRTPContext(profile: profile, masterKey: keys(profile, seed: 3), direction: .outbound)
        let rx = try LibSRTPContext(profile: profile, masterKey: keys(profile, seed: 3), direction: .inbound)
        let other = try LibSRTPContext(profile: profile, masterKey: keys(profile, seed: 4), direction: .inbound)
        var cipher = try protect(tx, rtpPacket(seq: 10))
        #expect(throws: SRTPError.authenticationFailed) { try unprotect(other, cipher) }
        cipher[cipher.count - 1] ^= 0x01
        #expect(throws: SRTPError.authenticationFailed) { try unprotect(rx, cipher) }
    }

    @Test(arguments: profiles) func replayIsRefused(profile: SRTPProfile) throws {
        let tx = try LibSRTPContext(profile: profile, masterKey: keys(profile, seed: 5), direction: .outbound)
        let rx = try LibSRTPContext(profile: profile, masterKey: keys(profile, seed: 5), direction: .inbound)
        let cipher = try protect(tx, rtpPacket(seq: 77))
        _ = try unprotect(rx, cipher)
        #expect(throws: SRTPError.replayed) { try unprotect(rx, cipher) }
    }

    @Test(arguments: profiles) func truncatedPacketsAreRefused(profile: SRTPProfile) throws {
        let tx = try LibSRTPContext(profile: profile, masterKey: keys(profile, seed: 6), direction: .outbound)
        let rx = try LibSRTPContext(profile: profile, masterKey: keys(profile, seed: 6), direction: .inbound)
        let cipher = try protect(tx, rtpPacket(seq: 9))
        for n in 0..<cipher.count {
            #expect(throws: SRTPError.self) { try unprotect(rx, Array(cipher[0..<n])) }
        }
    }

    /// The rollover counter must follow a sequence wrap (RFC 3711 §3.3.1), otherwise every packet
    /// after 65535 fails authentication.
    @Test(arguments: profiles) func sequenceRolloverKeepsDecrypting(profile: SRTPProfile) throws {
        let tx = try LibSRTPContext(profile: profile, masterKey: keys(profile, seed: 7), direction: .outbound)
        let rx = try LibSRTPContext(profile: profile, masterKey: keys(profile, seed: 7), direction: .inbound)
        var seq: UInt16 = 65_500
        for _ in 0..<200 {
            let plain = rtpPacket(seq: seq, payload: 20)
            #expect(try unprotect(rx, try protect(tx, plain)) == plain)
            seq &+= 1
        }
    }

    @Test func bufferWithoutRoomForTagIsRefused() throws {
        let profile = SRTPProfile.aeadAes128Gcm
        let tx = try LibSRTPContext(profile: profile, masterKey: keys(profile, seed: 8), direction: .outbound)
        var plain = rtpPacket(seq: 1)
        let n = plain.count
        #expect(throws: SRTPError.bufferTooSmall) {
            try plain.withUnsafeMutableBytes { b in try tx.protectRTP(b.baseAddress!, length: n, capacity: n) }
        }
    }

    @Test func exporterOutputSplitsPerRFC5764() {
        let profile = SRTPProfile.aes128CmHmacSha1_80
        let material = (0..<60).map { UInt8($0) }
        let split = SRTPMasterKey.split(exported: material, profile: profile)
        #expect(split?.client.key == Array(0..<16))
        #expect(split?.server.key == Array(16..<32))
        #expect(split?.client.salt == Array(32..<46))
        #expect(split?.server.salt == Array(46..<60))
        #expect(SRTPMasterKey.split(exported: material, profile: .aeadAes128Gcm) == nil)
        #expect(SRTPProfile(dtlsProfileID: 7) == .aeadAes128Gcm)
        #expect(SRTPProfile(dtlsProfileID: 2) == nil)
    }
}
