// The OpenSSL EVP backend of SRTPContext, for the packet path: AES_CM_128_HMAC_SHA1_80 (RFC 3711)
// and AEAD_AES_128_GCM (RFC 7714) over cipher contexts keyed once per context, so that a packet
// costs no allocation and no lock (Debian's libsrtp2 over NSS costs 5-14 mallocs and a lock).

import CCacheHints
import COpenSSL

/// Protects (outbound) or unprotects (inbound) SRTP and SRTCP for any number of SSRCs with one
/// master key, as LibSRTPContext does with `ssrc_any_*` policies; its output is byte for byte
/// libsrtp's. Not thread-safe: a context lives on its transport's worker.
public final class OpenSSLSRTPContext: SRTPContext {
    public let profile: SRTPProfile
    public let direction: SRTPDirection

    /// Replay window of every inbound stream, as LibSRTPContext's: wide enough for video
    /// reordering at high rates.
    public static let replayWindow = SRTPReplayWindow.size
    /// A UDP payload's maximum; longer lengths are refused rather than narrowed for OpenSSL.
    static let maximumPacketLength = 65_535
    /// libsrtp's `srtp_err_status_key_expired`, reported the same way by both backends when an
    /// SSRC has sent 2^31 - 1 SRTCP packets and another would reuse an index.
    static let keyExpiredCode = 15

    private let rtp: PacketKeys
    private let rtcp: PacketKeys
    /// Per-SSRC state behind a pointer: see SRTPStreamTable for why not a stored `var`.
    private let streams: UnsafeMutablePointer<SRTPStreamTable>
    /// Per-packet scratch, so nothing is allocated: the IV at 0, an SRTCP trailer or the ROC at
    /// 16, a computed HMAC at 32.
    private let scratch: UnsafeMutableRawPointer

    public init(profile: SRTPProfile, masterKey: SRTPMasterKey, direction: SRTPDirection) throws(SRTPError) {
        guard masterKey.key.count == profile.keyLength, masterKey.salt.count == profile.saltLength else {
            throw .badPacket
        }
        let rtp = try PacketKeys(
            profile: profile, keys: SRTPSessionKeys(profile: profile, masterKey: masterKey, rtcp: false))
        do throws(SRTPError) {
            rtcp = try PacketKeys(
                profile: profile, keys: SRTPSessionKeys(profile: profile, masterKey: masterKey, rtcp: true))
        } catch {
            rtp.free()
            throw error
        }
        self.rtp = rtp
        self.profile = profile
        self.direction = direction
        streams = .allocate(capacity: 1)
        streams.initialize(to: SRTPStreamTable())
        scratch = .allocate(byteCount: 64, alignment: 16)
    }

    deinit {
        rtp.free()
        rtcp.free()
        streams.pointee.deallocate()
        streams.deallocate()
        scratch.deallocate()
    }

    // MARK: RTP

    public func protectRTP(_ packet: UnsafeMutableRawPointer, length: Int, capacity: Int) throws(SRTPError) -> Int {
        guard length >= 0, length <= Self.maximumPacketLength else { throw .badPacket }
        guard capacity >= length + profile.rtpOverhead else { throw .bufferTooSmall }
        guard let header = Self.rtpHeaderLength(packet, limit: length) else { throw .badPacket }
        let ssrc = Self.be32(packet, 8)
        let stream = streams.pointee.insert(ssrc)
        let (index, delta) = SRTPPacketIndex.estimate(
            sequence: Self.be16(packet, 2), highest: stream.pointee.rtp.highest)
        // A NACKed packet is resent with its index and the same bytes, so a seen index is
        // allowed (libsrtp's allow_repeat_tx); one the window has left behind is not.
        guard SRTPReplayWindow.isWithinReach(delta: delta) else { throw .replayed }
        if stream.pointee.rtp.isFresh(index: index, delta: delta) {
            stream.pointee.rtp.accept(index: index, delta: delta)
        }
        let body = packet + header
        let bodyLength = length - header
        switch rtp {
        case .counterMode(let cipher, let mac, let salt):
            // RFC 3711 §4.1.1 encrypts the payload; §4.2 authenticates header, payload and ROC.
            writeIV(salt.counterModeIV(ssrc: ssrc, index: index))
            guard cipher.apply(iv: iv, to: body, count: bodyLength) else { throw .openSSL() }
            scratch.storeBytes(of: UInt32(truncatingIfNeeded: index >> 16).bigEndian, toByteOffset: 16, as: UInt32.self)
            mac.authenticate(packet, count: length, suffix: scratch + 16, suffixCount: 4, into: scratch + 32)
            (packet + length).copyMemory(from: scratch + 32, byteCount: PacketKeys.counterModeTagLength)
        case .gcm(let cipher, let salt):
            // RFC 7714 §8: the header (CSRCs and extension included) is the AAD, the tag follows.
            writeIV(salt.gcmIV(ssrc: ssrc, index: index))
            guard
                cipher.seal(
                    iv: iv, aad: packet, aadCount: header, moreAAD: nil, moreAADCount: 0, text: body, count: bodyLength,
                    tag: packet + length)
            else { throw .openSSL() }
        }
        return length + profile.rtpOverhead
    }

    /// See SRTPContext.prefetchProtect: a fan-out protects for one cold subscriber after another.
    @inline(__always)
    public func prefetchProtect(ssrc: UInt32, stage: Int) {
        guard stage == 0 else {
            streams.pointee.prefetch(ssrc)
            return
        }
        chorus_prefetch(streams)
        chorus_prefetch(scratch)
        switch rtp {
        case .counterMode(let cipher, let mac, _):
            cipher.prefetch()
            mac.prefetch()
        case .gcm(let cipher, _):
            cipher.prefetch()
        }
    }

    public func unprotectRTP(_ packet: UnsafeMutableRawPointer, length: Int) throws(SRTPError) -> Int {
        let tagLength = profile.rtpOverhead
        guard length >= 12 + tagLength, length <= Self.maximumPacketLength else { throw .badPacket }
        let bodyEnd = length - tagLength
        guard let header = Self.rtpHeaderLength(packet, limit: bodyEnd) else { throw .badPacket }
        let ssrc = Self.be32(packet, 8)
        let known = streams.pointee.stream(ssrc)
        // An SSRC not seen yet starts from index 0 with an empty window (its ROC is 0), and is
        // added only once a packet of it authenticates: forgeries cannot fill the table.
        let (index, delta) = SRTPPacketIndex.estimate(
            sequence: Self.be16(packet, 2), highest: known?.pointee.rtp.highest ?? 0)
        if let known, !known.pointee.rtp.isFresh(index: index, delta: delta) { throw .replayed }
        let body = packet + header
        let bodyLength = bodyEnd - header
        switch rtp {
        case .counterMode(let cipher, let mac, let salt):
            // Authenticate before decrypting (RFC 3711 §3.3 step 5), comparing in constant time.
            scratch.storeBytes(of: UInt32(truncatingIfNeeded: index >> 16).bigEndian, toByteOffset: 16, as: UInt32.self)
            mac.authenticate(packet, count: bodyEnd, suffix: scratch + 16, suffixCount: 4, into: scratch + 32)
            guard CRYPTO_memcmp(scratch + 32, packet + bodyEnd, tagLength) == 0 else { throw .authenticationFailed }
            writeIV(salt.counterModeIV(ssrc: ssrc, index: index))
            guard cipher.apply(iv: iv, to: body, count: bodyLength) else { throw .openSSL() }
        case .gcm(let cipher, let salt):
            writeIV(salt.gcmIV(ssrc: ssrc, index: index))
            guard
                cipher.open(
                    iv: iv, aad: packet, aadCount: header, moreAAD: nil, moreAADCount: 0, text: body, count: bodyLength,
                    tag: packet + bodyEnd)
            else {
                // GCM decrypts as it authenticates; what it wrote is not to be read.
                body.initializeMemory(as: UInt8.self, repeating: 0, count: bodyLength)
                throw .authenticationFailed
            }
        }
        let stream = known ?? streams.pointee.insert(ssrc)
        stream.pointee.rtp.accept(index: index, delta: delta)
        return bodyEnd
    }

    // MARK: RTCP

    public func protectRTCP(_ packet: UnsafeMutableRawPointer, length: Int, capacity: Int) throws(SRTPError) -> Int {
        guard length >= 0, length <= Self.maximumPacketLength else { throw .badPacket }
        guard capacity >= length + profile.rtcpOverhead else { throw .bufferTooSmall }
        guard length >= 8 else { throw .badPacket }
        let ssrc = Self.be32(packet, 4)
        let stream = streams.pointee.insert(ssrc)
        guard let index = stream.pointee.rtcp.nextIndexToSend() else { throw .backend(code: Self.keyExpiredCode) }
        // RFC 3711 §3.4: E flag (always encrypted) and the 31-bit SRTCP index.
        let trailer = (0x8000_0000 | index).bigEndian
        let body = packet + 8
        let bodyLength = length - 8
        switch rtcp {
        case .counterMode(let cipher, let mac, let salt):
            // Encrypted after the first 8 bytes; the tag covers the packet and the trailer.
            writeIV(salt.counterModeIV(ssrc: ssrc, index: UInt64(index)))
            guard cipher.apply(iv: iv, to: body, count: bodyLength) else { throw .openSSL() }
            (packet + length).storeBytes(of: trailer, as: UInt32.self)
            mac.authenticate(packet, count: length + 4, suffix: nil, suffixCount: 0, into: scratch + 32)
            (packet + length + 4).copyMemory(from: scratch + 32, byteCount: PacketKeys.counterModeTagLength)
        case .gcm(let cipher, let salt):
            // RFC 7714 §9.1: AAD is the first 8 bytes and the trailer; the tag precedes the trailer.
            writeIV(salt.gcmRTCPIV(ssrc: ssrc, index: index))
            scratch.storeBytes(of: trailer, toByteOffset: 16, as: UInt32.self)
            guard
                cipher.seal(
                    iv: iv, aad: packet, aadCount: 8, moreAAD: scratch + 16, moreAADCount: 4, text: body,
                    count: bodyLength, tag: packet + length)
            else { throw .openSSL() }
            (packet + length + AESGCM.tagLength).storeBytes(of: trailer, as: UInt32.self)
        }
        return length + profile.rtcpOverhead
    }

    public func unprotectRTCP(_ packet: UnsafeMutableRawPointer, length: Int) throws(SRTPError) -> Int {
        let tagLength = profile.rtpOverhead
        guard length >= 8 + 4 + tagLength, length <= Self.maximumPacketLength else { throw .badPacket }
        let ssrc = Self.be32(packet, 4)
        // AES-CM: packet | E+index | tag (RFC 3711 §3.4); GCM: packet | tag | E+index (RFC 7714 §9).
        let trailerOffset = profile == .aes128CmHmacSha1_80 ? length - tagLength - 4 : length - 4
        let trailer = Self.be32(packet, trailerOffset)
        let encrypted = trailer & 0x8000_0000 != 0
        let index = trailer & 0x7FFF_FFFF
        let known = streams.pointee.stream(ssrc)
        let delta = Int(index) - Int(known?.pointee.rtcp.highest ?? 0)
        if let known, !known.pointee.rtcp.isFresh(index: UInt64(index), delta: delta) { throw .replayed }
        let body = packet + 8
        let plainLength: Int
        switch rtcp {
        case .counterMode(let cipher, let mac, let salt):
            let tagOffset = length - tagLength
            mac.authenticate(packet, count: tagOffset, suffix: nil, suffixCount: 0, into: scratch + 32)
            guard CRYPTO_memcmp(scratch + 32, packet + tagOffset, tagLength) == 0 else { throw .authenticationFailed }
            plainLength = trailerOffset
            if encrypted {
                writeIV(salt.counterModeIV(ssrc: ssrc, index: UInt64(index)))
                guard cipher.apply(iv: iv, to: body, count: plainLength - 8) else { throw .openSSL() }
            }
        case .gcm(let cipher, let salt):
            let tagOffset = length - 4 - tagLength
            plainLength = tagOffset
            writeIV(salt.gcmRTCPIV(ssrc: ssrc, index: index))
            // Without the E flag nothing is encrypted and the whole packet is AAD (RFC 7714 §9.3).
            let aadCount = encrypted ? 8 : tagOffset
            let textCount = encrypted ? tagOffset - 8 : 0
            guard
                cipher.open(
                    iv: iv, aad: packet, aadCount: aadCount, moreAAD: packet + trailerOffset, moreAADCount: 4,
                    text: body, count: textCount, tag: packet + tagOffset)
            else {
                body.initializeMemory(as: UInt8.self, repeating: 0, count: textCount)
                throw .authenticationFailed
            }
        }
        let stream = known ?? streams.pointee.insert(ssrc)
        stream.pointee.rtcp.accept(index: UInt64(index), delta: delta)
        return plainLength
    }

    // MARK: Helpers

    private var iv: UnsafePointer<UInt8> { UnsafePointer(scratch.assumingMemoryBound(to: UInt8.self)) }

    @inline(__always)
    private func writeIV(_ block: (high: UInt64, low: UInt64)) {
        scratch.storeBytes(of: block.high.bigEndian, toByteOffset: 0, as: UInt64.self)
        scratch.storeBytes(of: block.low.bigEndian, toByteOffset: 8, as: UInt64.self)
    }

    /// 12 + 4·CC, plus the extension header and body when X is set (RFC 3550 §5.1, §5.3.1),
    /// when all of it lies within `limit` bytes. What the header says is not otherwise checked:
    /// the tag authenticates it.
    @inline(__always)
    static func rtpHeaderLength(_ packet: UnsafeMutableRawPointer, limit: Int) -> Int? {
        guard limit >= 12 else { return nil }
        let first = packet.load(as: UInt8.self)
        var end = 12 + 4 * Int(first & 0x0F)
        if first & 0x10 != 0 {
            guard end + 4 <= limit else { return nil }
            end += 4 + 4 * Int(be16(packet, end + 2))
        }
        return end <= limit ? end : nil
    }

    @inline(__always)
    private static func be16(_ p: UnsafeMutableRawPointer, _ offset: Int) -> UInt16 {
        UInt16(bigEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inline(__always)
    private static func be32(_ p: UnsafeMutableRawPointer, _ offset: Int) -> UInt32 {
        UInt32(bigEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }
}

/// One packet type's (RTP or SRTCP) session keys, keyed into OpenSSL. Trivial payloads only,
/// so switching over it costs no reference counting.
private enum PacketKeys {
    case counterMode(AESCounterMode, HMACSHA1, SRTPSalt)
    case gcm(AESGCM, SRTPSalt)

    /// HMAC-SHA1 truncated to 80 bits (RFC 3711 §4.2.1; the "_80" of the profile's name).
    static let counterModeTagLength = 10

    init(profile: SRTPProfile, keys: SRTPSessionKeys) throws(SRTPError) {
        switch profile {
        case .aes128CmHmacSha1_80:
            self = .counterMode(
                try AESCounterMode(key: keys.encryptionKey), HMACSHA1(key: keys.authenticationKey), SRTPSalt(keys.salt))
        case .aeadAes128Gcm:
            self = .gcm(try AESGCM(key: keys.encryptionKey), SRTPSalt(keys.salt))
        }
    }

    func free() {
        switch self {
        case .counterMode(let cipher, let mac, _):
            cipher.free()
            mac.free()
        case .gcm(let cipher, _):
            cipher.free()
        }
    }
}

/// A session salt as the two big-endian halves of a 16-byte block, zero-padded, so that an IV
/// is two XORs.
struct SRTPSalt {
    var high: UInt64
    var low: UInt64

    init(_ bytes: [UInt8]) {
        var block = [UInt8](repeating: 0, count: 16)
        for (i, byte) in bytes.prefix(16).enumerated() { block[i] = byte }
        high = block[0..<8].reduce(0) { $0 << 8 | UInt64($1) }
        low = block[8..<16].reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// RFC 3711 §4.1.1: IV = (salt · 2^16) XOR (SSRC · 2^64) XOR (index · 2^16), a 16-byte
    /// counter block whose last two bytes count blocks from 0.
    @inline(__always)
    func counterModeIV(ssrc: UInt32, index: UInt64) -> (high: UInt64, low: UInt64) {
        (high ^ UInt64(ssrc), low ^ (index << 16))
    }

    /// RFC 7714 §8.1: IV = salt XOR (0x0000 || SSRC || ROC || SEQ), 12 bytes (the last 4 of
    /// the block are not read).
    @inline(__always)
    func gcmIV(ssrc: UInt32, index: UInt64) -> (high: UInt64, low: UInt64) {
        (high ^ (UInt64(ssrc) << 16 | (index >> 32) & 0xFFFF), low ^ ((index & 0xFFFF_FFFF) << 32))
    }

    /// RFC 7714 §9.1: IV = salt XOR (0x0000 || SSRC || 0x0000 || 0 || SRTCP index).
    @inline(__always)
    func gcmRTCPIV(ssrc: UInt32, index: UInt32) -> (high: UInt64, low: UInt64) {
        (high ^ UInt64(ssrc) << 16, low ^ UInt64(index) << 32)
    }
}
