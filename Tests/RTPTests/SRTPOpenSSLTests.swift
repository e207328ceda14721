// The OpenSSL SRTP backend against libsrtp2 (the oracle): byte-identical protect output and
// unprotect in both directions for both profiles, RTP and SRTCP, across a ROC rollover and many
// SSRCs; replay, forgery, truncation and random bytes; RFC 3711's key-derivation test vector.

import CSRTP
import ChorusTestSupport
import Testing

@testable import RTP

private enum Kind { case rtp, rtcp }

/// Runs protect or unprotect on a copy of `bytes`: the result is the output bytes or the error.
/// The buffer always has a spare byte, so that even an empty packet has an address.
private func run(
    _ context: SRTPContext, protect: Bool, _ kind: Kind, _ bytes: [UInt8], room: Int = 32
) -> Result<[UInt8], SRTPError> {
    var buffer = bytes + [UInt8](repeating: 0, count: protect ? room : 1)
    var result: Result<Int, SRTPError> = .failure(.badPacket)
    buffer.withUnsafeMutableBytes { b in
        let p = b.baseAddress!
        let capacity = protect ? bytes.count + room : bytes.count
        do throws(SRTPError) {
            switch (protect, kind) {
            case (true, .rtp): result = .success(try context.protectRTP(p, length: bytes.count, capacity: capacity))
            case (true, .rtcp): result = .success(try context.protectRTCP(p, length: bytes.count, capacity: capacity))
            case (false, .rtp): result = .success(try context.unprotectRTP(p, length: bytes.count))
            case (false, .rtcp): result = .success(try context.unprotectRTCP(p, length: bytes.count))
            }
        } catch {
            result = .failure(error)
        }
    }
    return result.map { Array(buffer[0..<$0]) }
}

private func protect(_ c: SRTPContext, _ bytes: [UInt8], _ kind: Kind = .rtp) -> Result<[UInt8], SRTPError> {
    run(c, protect: true, kind, bytes)
}

private func unprotect(_ c: SRTPContext, _ bytes: [UInt8], _ kind: Kind = .rtp) -> Result<[UInt8], SRTPError> {
    run(c, protect: false, kind, bytes)
}

/// An RTP packet with `csrcs` CSRCs, an RFC 8285 one-byte extension block of `extensionWords`
/// words when given, and `padding` padding bytes (RFC 3550 §5.1) when not 0.
private func rtp(
    seq: UInt16, ssrc: UInt32, payload: Int = 100, csrcs: Int = 0, extensionWords: Int? = nil, padding: Int = 0
) -> [UInt8] {
    var first: UInt8 = 0x80 | UInt8(csrcs)
    if extensionWords != nil { first |= 0x10 }
    if padding > 0 { first |= 0x20 }
    var p: [UInt8] = [first, 96] + be16(seq) + be32(UInt32(seq) &* 3000) + be32(ssrc)
    for i in 0..<csrcs { p += be32(0xC5C0_0000 + UInt32(i)) }
    if let words = extensionWords {
        p += [0xBE, 0xDE] + be16(UInt16(words)) + (0..<(4 * words)).map { UInt8(truncatingIfNeeded: $0 &* 11) }
    }
    p += (0..<payload).map { UInt8(truncatingIfNeeded: Int(seq) &+ $0 &* 7) }
    if padding > 0 { p += [UInt8](repeating: 0, count: padding - 1) + [UInt8(padding)] }
    return p
}

/// A compound-looking RTCP packet from `ssrc`: a receiver report header and `words` more words.
private func rtcp(ssrc: UInt32, words: Int, fill: UInt8 = 0) -> [UInt8] {
    [0x81, 201] + be16(UInt16(1 + words)) + be32(ssrc) + (0..<(4 * words)).map { UInt8(truncatingIfNeeded: $0) ^ fill }
}

private func masterKey(_ profile: SRTPProfile, seed: UInt8) -> SRTPMasterKey {
    SRTPMasterKey(
        key: (0..<profile.keyLength).map { UInt8(truncatingIfNeeded: $0 &* 5 &+ Int(seed)) },
        salt: (0..<profile.saltLength).map { UInt8(truncatingIfNeeded: $0 &* 9 &+ Int(seed) &+ 1) })
}

/// Sender and receiver of each backend, all with one master key.
private struct Backends {
    let libTx: LibSRTPContext
    let libRx: LibSRTPContext
    let sslTx: OpenSSLSRTPContext
    let sslRx: OpenSSLSRTPContext

    init(_ profile: SRTPProfile, seed: UInt8) throws {
        let key = masterKey(profile, seed: seed)
        libTx = try LibSRTPContext(profile: profile, masterKey: key, direction: .outbound)
        libRx = try LibSRTPContext(profile: profile, masterKey: key, direction: .inbound)
        sslTx = try OpenSSLSRTPContext(profile: profile, masterKey: key, direction: .outbound)
        sslRx = try OpenSSLSRTPContext(profile: profile, masterKey: key, direction: .inbound)
    }
}

private func hex(_ s: String) -> [UInt8] {
    var bytes: [UInt8] = []
    var i = s.startIndex
    while i < s.endIndex {
        let j = s.index(i, offsetBy: 2)
        bytes.append(UInt8(s[i..<j], radix: 16)!)
        i = j
    }
    return bytes
}

@Suite struct SRTPOpenSSLTests {
    static let profiles: [SRTPProfile] = [.aes128CmHmacSha1_80, .aeadAes128Gcm]

    // MARK: Against libsrtp

    /// Three SSRCs interleaved, each starting where its ROC soon rolls over (one below 2^15,
    /// where libsrtp takes the ROC as 0), with CSRCs, extensions, padding and empty payloads.
    @Test(arguments: profiles) func rtpProtectIsByteIdenticalToLibSRTPAcrossRollover(profile: SRTPProfile) throws {
        let b = try Backends(profile, seed: 1)
        let streams: [(ssrc: UInt32, start: UInt16)] = [(0x1111_1111, 65_400), (0xDEAD_BEEF, 65_530), (7, 30_000)]
        var checked = 0
        for step in 0..<400 {
            for (ssrc, start) in streams {
                let plain = rtp(
                    seq: start &+ UInt16(step), ssrc: ssrc, payload: [100, 0, 1, 17, 1172][step % 5], csrcs: step % 3,
                    extensionWords: step % 4 == 0 ? step % 5 : nil, padding: step % 7 == 0 ? 1 + step % 4 : 0)
                let fromLib = protect(b.libTx, plain)
                let fromSSL = protect(b.sslTx, plain)
                guard case .success(let cipher) = fromLib, fromSSL == fromLib else {
                    Issue.record("step \(step) ssrc \(ssrc): libsrtp \(fromLib), OpenSSL \(fromSSL)")
                    return
                }
                #expect(cipher.count == plain.count + profile.rtpOverhead)
                // libsrtp's output into OpenSSL, OpenSSL's into libsrtp.
                #expect(unprotect(b.sslRx, cipher) == .success(plain))
                if case .success(let ours) = fromSSL { #expect(unprotect(b.libRx, ours) == .success(plain)) }
                checked += 1
            }
        }
        #expect(checked == 1200)
    }

    @Test(arguments: profiles) func rtcpProtectIsByteIdenticalToLibSRTP(profile: SRTPProfile) throws {
        let b = try Backends(profile, seed: 2)
        for step in 0..<300 {
            for ssrc in [0xAAAA_0001, 0x0000_0002, 0xFFFF_FFFF] as [UInt32] {
                let plain = rtcp(ssrc: ssrc, words: step % 9, fill: UInt8(truncatingIfNeeded: step))
                let fromLib = protect(b.libTx, plain, .rtcp)
                let fromSSL = protect(b.sslTx, plain, .rtcp)
                guard case .success(let cipher) = fromLib, fromSSL == fromLib else {
                    Issue.record("step \(step) ssrc \(ssrc): libsrtp \(fromLib), OpenSSL \(fromSSL)")
                    return
                }
                #expect(cipher.count == plain.count + profile.rtcpOverhead)
                #expect(unprotect(b.sslRx, cipher, .rtcp) == .success(plain))
                if case .success(let ours) = fromSSL { #expect(unprotect(b.libRx, ours, .rtcp) == .success(plain)) }
            }
        }
    }

    /// More SSRCs than the table's first capacity, so that it grows with streams in it.
    @Test(arguments: profiles) func manySSRCsMatchLibSRTP(profile: SRTPProfile) throws {
        let b = try Backends(profile, seed: 3)
        for round in 0..<4 {
            for n in 0..<150 {
                let ssrc = UInt32(n) &* 0x0101_0101 &+ 5
                let plain = rtp(seq: UInt16(n &* 400 &+ round), ssrc: ssrc, payload: 40)
                let fromLib = protect(b.libTx, plain)
                #expect(protect(b.sslTx, plain) == fromLib)
                if case .success(let cipher) = fromLib { #expect(unprotect(b.sslRx, cipher) == .success(plain)) }
                let report = rtcp(ssrc: ssrc, words: 1 + n % 3)
                let rtcpFromLib = protect(b.libTx, report, .rtcp)
                #expect(protect(b.sslTx, report, .rtcp) == rtcpFromLib)
                if case .success(let cipher) = rtcpFromLib {
                    #expect(unprotect(b.sslRx, cipher, .rtcp) == .success(report))
                }
            }
        }
    }

    /// Reordering, duplicates, very old packets and forged payloads or tags, across a rollover:
    /// the OpenSSL receiver must say exactly what libsrtp's says about every packet.
    @Test(arguments: profiles) func receiverAgreesWithLibSRTPOnEveryPacket(profile: SRTPProfile) throws {
        let b = try Backends(profile, seed: 4)
        var rng = SeededGenerator(seed: 0x5EED_0A11)
        var sent: [[UInt8]] = []
        for i in 0..<3000 {
            let plain = rtp(seq: 64_000 &+ UInt16(i), ssrc: 0x5151_5151, payload: Int.random(in: 0...300, using: &rng))
            sent.append(try protect(b.libTx, plain).get())
        }
        // Local shuffles within 40 packets; now and then an old packet again, or a forged one.
        var order = Array(sent.indices)
        for start in stride(from: 0, to: order.count - 40, by: 40) { order[start..<(start + 40)].shuffle(using: &rng) }
        var outcomes: [String: Int] = [:]
        for i in order {
            var packet = sent[i]
            switch Int.random(in: 0..<10, using: &rng) {
            case 0: packet = sent[Int.random(in: 0...i, using: &rng)]
            case 1:
                // The timestamp, payload or tag: the header's shape stays.
                let at = [4, 5, 6, 7] + Array(12..<packet.count)
                packet[at.randomElement(using: &rng)!] ^= UInt8.random(in: 1...255, using: &rng)
            default: break
            }
            let ours = unprotect(b.sslRx, packet)
            let theirs = unprotect(b.libRx, packet)
            #expect(ours == theirs, "packet \(i)")
            let outcome: String
            switch theirs {
            case .success: outcome = "ok"
            case .failure(let error): outcome = "\(error)"
            }
            outcomes[outcome, default: 0] += 1
        }
        // The mix really exercised every path.
        #expect(outcomes["ok", default: 0] > 2000)
        #expect(outcomes["replayed", default: 0] > 100)
        #expect(outcomes["authenticationFailed", default: 0] > 100)
    }

    /// A sender that protects with libsrtp an SRTCP packet with the E flag clear (encryption off,
    /// authentication on, RFC 3711 §3.4): the OpenSSL receiver authenticates it and leaves it be.
    @Test(arguments: profiles) func unencryptedSRTCPIsAccepted(profile: SRTPProfile) throws {
        let key = masterKey(profile, seed: 5)
        var policy = srtp_policy_t()
        switch profile {
        case .aes128CmHmacSha1_80:
            srtp_crypto_policy_set_rtp_default(&policy.rtp)
            srtp_crypto_policy_set_rtcp_default(&policy.rtcp)
        case .aeadAes128Gcm:
            srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp)
            srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp)
        }
        policy.rtcp.sec_serv = sec_serv_auth
        policy.ssrc.type = ssrc_any_outbound
        policy.window_size = 1024
        _ = try LibSRTPContext(profile: profile, masterKey: key, direction: .outbound)  // runs srtp_init
        var material = key.key + key.salt
        var session: srtp_t?
        let status = material.withUnsafeMutableBufferPointer { buffer in
            policy.key = buffer.baseAddress
            return srtp_create(&session, &policy)
        }
        try #require(status == srtp_err_status_ok)
        defer { srtp_dealloc(session) }
        let plain = rtcp(ssrc: 0x0BAD_CAFE, words: 6, fill: 0x3C)
        var buffer = plain + [UInt8](repeating: 0, count: 64)
        var length = Int32(plain.count)
        try #require(srtp_protect_rtcp(session, &buffer, &length) == srtp_err_status_ok)
        let cipher = Array(buffer[0..<Int(length)])
        #expect(Array(cipher[0..<plain.count]) == plain)  // not encrypted
        let rx = try OpenSSLSRTPContext(profile: profile, masterKey: key, direction: .inbound)
        var forged = cipher
        forged[10] ^= 1
        #expect(unprotect(rx, forged, .rtcp) == .failure(.authenticationFailed))
        #expect(unprotect(rx, cipher, .rtcp) == .success(plain))
    }

    // MARK: Refusals

    @Test(arguments: profiles) func corruptedPacketsFailAuthentication(profile: SRTPProfile) throws {
        let b = try Backends(profile, seed: 6)
        let cipher = try protect(b.sslTx, rtp(seq: 500, ssrc: 42, csrcs: 1, extensionWords: 2)).get()
        let srtcp = try protect(b.sslTx, rtcp(ssrc: 42, words: 4), .rtcp).get()
        // Header (PT, timestamp, a CSRC, the extension), payload, tag.
        for at in [1, 5, 13, 21, 30, cipher.count - 1] {
            var forged = cipher
            forged[at] ^= 0x10
            #expect(unprotect(b.sslRx, forged) == .failure(.authenticationFailed), "byte \(at)")
            #expect(unprotect(b.libRx, forged) == .failure(.authenticationFailed), "byte \(at)")
        }
        // SRTCP: header, payload, the E flag and index, the tag.
        let trailer = profile == .aeadAes128Gcm ? srtcp.count - 4 : srtcp.count - 14
        for at in [1, 9, trailer, trailer + 3, srtcp.count - 1] {
            var forged = srtcp
            forged[at] ^= 0x01
            #expect(unprotect(b.sslRx, forged, .rtcp) == .failure(.authenticationFailed), "byte \(at)")
        }
        // Failures left no trace: the genuine packets still pass.
        #expect(unprotect(b.sslRx, cipher) == .success(rtp(seq: 500, ssrc: 42, csrcs: 1, extensionWords: 2)))
        #expect(unprotect(b.sslRx, srtcp, .rtcp) == .success(rtcp(ssrc: 42, words: 4)))
        let stranger = try OpenSSLSRTPContext(
            profile: profile, masterKey: masterKey(profile, seed: 7), direction: .inbound)
        #expect(unprotect(stranger, cipher) == .failure(.authenticationFailed))
    }

    @Test(arguments: profiles) func replaysAreRefused(profile: SRTPProfile) throws {
        let b = try Backends(profile, seed: 8)
        let cipher = try protect(b.sslTx, rtp(seq: 77, ssrc: 9)).get()
        #expect(unprotect(b.sslRx, cipher).isSuccess)
        #expect(unprotect(b.sslRx, cipher) == .failure(.replayed))
        let srtcp = try protect(b.sslTx, rtcp(ssrc: 9, words: 2), .rtcp).get()
        #expect(unprotect(b.sslRx, srtcp, .rtcp).isSuccess)
        #expect(unprotect(b.sslRx, srtcp, .rtcp) == .failure(.replayed))
    }

    /// RFC 3711 §3.3.2 with a 1024-packet window: 1023 behind the highest is still checked
    /// against the window, 1024 behind is too old whether seen or not. libsrtp agrees.
    @Test(arguments: profiles) func packetsBehindTheWindowAreRefused(profile: SRTPProfile) throws {
        let b = try Backends(profile, seed: 9)
        var packets: [UInt16: [UInt8]] = [:]
        for seq in [100, 150, 176, 177, 1200] as [UInt16] {  // a sender's order
            packets[seq] = try protect(b.libTx, rtp(seq: seq, ssrc: 3)).get()
        }
        let deliveries: [(seq: UInt16, accepted: Bool)] = [
            (100, true), (1200, true), (176, false), (177, true), (150, false),
        ]
        for (seq, expected) in deliveries {
            let ours = unprotect(b.sslRx, packets[seq]!)
            #expect(ours.isSuccess == expected, "seq \(seq)")
            #expect(ours == unprotect(b.libRx, packets[seq]!), "seq \(seq)")
            if !expected { #expect(ours == .failure(.replayed)) }
        }
    }

    /// A NACKed packet is protected again with its index (libsrtp's allow_repeat_tx), giving the
    /// same bytes; an index the window has left behind is refused, by both backends.
    @Test(arguments: profiles) func senderRepeatsAnIndexButNotOneBehindTheWindow(profile: SRTPProfile) throws {
        let b = try Backends(profile, seed: 10)
        let plain = rtp(seq: 10, ssrc: 11)
        let first = protect(b.sslTx, plain)
        #expect(first.isSuccess)
        #expect(protect(b.sslTx, plain) == first)
        #expect(protect(b.libTx, plain) == first)
        #expect(protect(b.libTx, plain) == first)
        for backend in [b.sslTx, b.libTx] as [SRTPContext] {
            #expect(protect(backend, rtp(seq: 2000, ssrc: 11)).isSuccess)
            #expect(protect(backend, plain) == .failure(.replayed))
        }
    }

    @Test(arguments: profiles) func truncatedPacketsAreRefused(profile: SRTPProfile) throws {
        let b = try Backends(profile, seed: 11)
        let cipher = try protect(b.sslTx, rtp(seq: 9, ssrc: 1, csrcs: 2, extensionWords: 1)).get()
        let srtcp = try protect(b.sslTx, rtcp(ssrc: 1, words: 3), .rtcp).get()
        for n in 0..<cipher.count { #expect(!unprotect(b.sslRx, Array(cipher[0..<n])).isSuccess, "\(n) bytes") }
        for n in 0..<srtcp.count { #expect(!unprotect(b.sslRx, Array(srtcp[0..<n]), .rtcp).isSuccess, "\(n) bytes") }
        // A header that claims more than there is, to protect.
        #expect(protect(b.sslTx, Array(rtp(seq: 1, ssrc: 1, payload: 0, csrcs: 3).prefix(20))) == .failure(.badPacket))
        #expect(protect(b.sslTx, [0x80, 96, 0, 1]) == .failure(.badPacket))
        #expect(protect(b.sslTx, [0x81, 201, 0], .rtcp) == .failure(.badPacket))
    }

    @Test(arguments: profiles) func bufferWithoutRoomForTheTagIsRefused(profile: SRTPProfile) throws {
        let tx = try OpenSSLSRTPContext(profile: profile, masterKey: masterKey(profile, seed: 12), direction: .outbound)
        let packet = rtp(seq: 1, ssrc: 1)
        let report = rtcp(ssrc: 1, words: 1)
        #expect(run(tx, protect: true, .rtp, packet, room: profile.rtpOverhead - 1) == .failure(.bufferTooSmall))
        #expect(run(tx, protect: true, .rtp, packet, room: profile.rtpOverhead).isSuccess)
        #expect(run(tx, protect: true, .rtcp, report, room: profile.rtcpOverhead - 1) == .failure(.bufferTooSmall))
        #expect(run(tx, protect: true, .rtcp, report, room: profile.rtcpOverhead).isSuccess)
    }

    @Test func wrongKeySizesAreRefused() {
        #expect(throws: SRTPError.badPacket) {
            try OpenSSLSRTPContext(
                profile: .aeadAes128Gcm, masterKey: masterKey(.aes128CmHmacSha1_80, seed: 1), direction: .inbound)
        }
    }

    /// Random bytes, and protected packets with random damage, must only ever be refused.
    @Test(arguments: profiles) func randomBytesNeverCrashUnprotect(profile: SRTPProfile) throws {
        let b = try Backends(profile, seed: 13)
        var rng = SeededGenerator(seed: 0x5EED_5127)
        let seeds = [
            try protect(b.sslTx, rtp(seq: 1, ssrc: 1, csrcs: 1, extensionWords: 2, padding: 3)).get(),
            try protect(b.sslTx, rtcp(ssrc: 1, words: 5), .rtcp).get(),
        ]
        var accepted = 0
        for _ in 0..<20_000 {
            var bytes: [UInt8]
            if Bool.random(using: &rng) {
                bytes = rng.bytes(Int.random(in: 0...200, using: &rng))
                if !bytes.isEmpty { bytes[0] = 0x80 | (bytes[0] & 0x3F) }
            } else {
                bytes = seeds.randomElement(using: &rng)!
                for _ in 0..<Int.random(in: 1...3, using: &rng) {
                    bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
                if Bool.random(using: &rng) {
                    bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &rng)))
                }
            }
            let kind: Kind = Bool.random(using: &rng) ? .rtp : .rtcp
            if case .success(let plain) = unprotect(b.sslRx, bytes, kind) {
                accepted += 1
                #expect(plain.count < bytes.count)
            }
        }
        // Only a "mutation" that rewrote a byte with its own value can pass, once per seed.
        #expect(accepted <= 2)
    }

    // MARK: Pieces

    /// RFC 3711 Appendix B.3.
    @Test func keyDerivationMatchesRFC3711TestVector() throws {
        let master = SRTPMasterKey(
            key: hex("E1F97A0D3E018BE0D64FA32C06DE4139"), salt: hex("0EC675AD498AFEEBB6960B3AABE6"))
        let keys = try SRTPSessionKeys(profile: .aes128CmHmacSha1_80, masterKey: master, rtcp: false)
        #expect(keys.encryptionKey == hex("C61E7A93744F39EE10734AFE3FF7A087"))
        #expect(keys.salt == hex("30CBBC08863D8C85D49DB34A9AE1"))
        #expect(keys.authenticationKey == hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4"))
        // The auth-key keystream continues as the RFC prints it.
        let longer = try SRTPKeyDerivation.derive(label: 0x01, length: 32, masterKey: master)
        #expect(longer == hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA48F0A0ACF3C34E2359E6CDBCE"))
    }

    @Test func indexEstimateFollowsRFC3711AppendixA() {
        func estimate(_ seq: UInt16, _ highest: UInt64) -> (UInt64, Int) {
            let e = SRTPPacketIndex.estimate(sequence: seq, highest: highest)
            return (e.index, e.delta)
        }
        #expect(estimate(5, 0) == (5, 5))
        #expect(estimate(0, 65_535) == (0x1_0000, 1))  // rollover: ROC + 1
        #expect(estimate(65_530, 0x1_0005) == (65_530, -11))  // late packet from before it: ROC - 1
        #expect(estimate(65_000, 100) == (65_000, 64_900))  // early in a stream the ROC is 0 (libsrtp)
        #expect(estimate(0, 0x8001) == (0x1_0000, 32_767))
        #expect(estimate(0x8000, 0x1_0000) == (0x1_8000, 0x8000))  // exactly half ahead: same ROC
        #expect(estimate(0x8001, 0x1_0000) == (0x8001, -0x7FFF))  // more than half: ROC - 1
        #expect(estimate(0x8002, 0x1_0001) == (0x8002, -0x7FFF))  // more than half: ROC - 1
        #expect(estimate(0, 0xFFFF_FFFF_FFFF) == (0, 1))  // the 32-bit ROC wraps
    }

    @Test func replayWindowSlidesAsARing() {
        var w = SRTPReplayWindow()
        w.accept(index: 2000, delta: 2000)
        #expect(!w.isFresh(index: 2000, delta: 0))
        #expect(w.isFresh(index: 2000 - 1023, delta: -1023))
        #expect(!w.isFresh(index: 2000 - 1024, delta: -1024))
        w.accept(index: 1500, delta: -500)
        #expect(!w.isFresh(index: 1500, delta: -500))
        // Moving up by 600 forgets 1500's bit only once it leaves the window.
        w.accept(index: 2600, delta: 600)
        #expect(!w.isFresh(index: 1500, delta: -1100))  // too old
        #expect(w.isFresh(index: 2524, delta: -76))  // bit 2524 % 1024 was 1500's; cleared on the way
        #expect(!w.isFresh(index: 2000, delta: -600))
        w.accept(index: 5000, delta: 2400)
        #expect(w.isFresh(index: 4000, delta: -1000))
        #expect(!w.isFresh(index: 5000, delta: 0))
    }

    @Test func streamTableGrowsAndFindsEverySSRC() {
        var table = SRTPStreamTable(capacity: 2)
        defer { table.deallocate() }
        var rng = SeededGenerator(seed: 0x5EED_7AB1)
        let ssrcs = (0..<1000).map { _ in UInt32.random(in: 0...UInt32.max, using: &rng) } + [0, UInt32.max]
        for (i, ssrc) in ssrcs.enumerated() { table.insert(ssrc).pointee.rtp.accept(index: UInt64(i), delta: i) }
        #expect(table.count == Set(ssrcs).count)
        for (i, ssrc) in ssrcs.enumerated() where ssrcs.lastIndex(of: ssrc) == i {
            #expect(table.stream(ssrc)?.pointee.ssrc == ssrc)
            #expect(table.stream(ssrc)?.pointee.rtp.highest == UInt64(i))
        }
        #expect(table.stream(0x1234_5679) == nil || ssrcs.contains(0x1234_5679))
    }
}

extension Result {
    fileprivate var isSuccess: Bool {
        if case .success = self { return true }
        return false
    }
}
