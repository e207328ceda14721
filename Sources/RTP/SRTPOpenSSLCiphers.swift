// The OpenSSL primitives under OpenSSLSRTPContext, each keyed once when a context is created so
// that a packet only supplies a new IV: AES-128-CTR, AES-128-GCM and HMAC-SHA1. They are value
// wrappers over C objects that their owner frees, so the packet path has no ARC traffic either.

import CCacheHints
import COpenSSL

extension SRTPError {
    /// An OpenSSL call failed where it cannot for valid input (out of memory at set-up, a broken
    /// library): the code is OpenSSL's oldest queued error, 0 when it queued none.
    static func openSSL() -> SRTPError {
        .backend(code: Int(truncatingIfNeeded: ERR_get_error()))
    }
}

/// AES-128 in counter mode (RFC 3711 §4.1.1). OpenSSL counts in the whole 16-byte block where
/// SRTP counts in its low 16 bits; both give the same keystream for packets under 2^16 blocks.
struct AESCounterMode {
    private let context: OpaquePointer

    init(key: [UInt8]) throws(SRTPError) {
        guard key.count == 16, let context = EVP_CIPHER_CTX_new() else { throw .openSSL() }
        guard EVP_EncryptInit_ex(context, EVP_aes_128_ctr(), nil, key, nil) == 1 else {
            EVP_CIPHER_CTX_free(context)
            throw .openSSL()
        }
        self.context = context
    }

    /// Frees the EVP context (which wipes the key schedule). Called once, by the owner.
    func free() { EVP_CIPHER_CTX_free(context) }

    /// Starts loading the EVP context (about three cache lines), as a hint.
    @inline(__always)
    func prefetch() { chorus_prefetch_lines(UnsafeRawPointer(context), 3) }

    /// XORs the keystream that starts at counter block `iv` (16 bytes) into `count` bytes, in
    /// place. Re-initialising with only an IV keeps the key schedule: no allocation.
    @inline(__always)
    func apply(iv: UnsafePointer<UInt8>, to data: UnsafeMutableRawPointer, count: Int) -> Bool {
        guard EVP_EncryptInit_ex(context, nil, nil, nil, iv) == 1 else { return false }
        guard count > 0 else { return true }
        let bytes = data.assumingMemoryBound(to: UInt8.self)
        var written: Int32 = 0
        return EVP_EncryptUpdate(context, bytes, &written, bytes, Int32(count)) == 1
    }
}

/// AES-128-GCM with a 12-byte IV and a 16-byte tag (RFC 7714 §5, §7).
struct AESGCM {
    static let tagLength = 16
    private let context: OpaquePointer

    init(key: [UInt8]) throws(SRTPError) {
        guard key.count == 16, let context = EVP_CIPHER_CTX_new() else { throw .openSSL() }
        // OpenSSL's default GCM IV length is 12 bytes, the length RFC 7714 §8.1 uses.
        guard EVP_CipherInit_ex(context, EVP_aes_128_gcm(), nil, key, nil, 1) == 1 else {
            EVP_CIPHER_CTX_free(context)
            throw .openSSL()
        }
        self.context = context
    }

    func free() { EVP_CIPHER_CTX_free(context) }

    /// Starts loading the EVP context (about three cache lines), as a hint.
    @inline(__always)
    func prefetch() { chorus_prefetch_lines(UnsafeRawPointer(context), 3) }

    /// Encrypts `count` bytes in place after authenticating `aad` and then `moreAAD` (SRTCP
    /// appends its index word), and writes the 16-byte tag to `tag`.
    @inline(__always)
    func seal(
        iv: UnsafePointer<UInt8>, aad: UnsafeRawPointer, aadCount: Int, moreAAD: UnsafeRawPointer?, moreAADCount: Int,
        text: UnsafeMutableRawPointer, count: Int, tag: UnsafeMutableRawPointer
    ) -> Bool {
        guard start(iv: iv, encrypt: true, aad: aad, aadCount, moreAAD, moreAADCount),
            update(text, count)
        else { return false }
        var written: Int32 = 0
        // GCM's final step writes no bytes, only computes the tag.
        guard EVP_CipherFinal_ex(context, tag.assumingMemoryBound(to: UInt8.self), &written) == 1 else { return false }
        return EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_GET_TAG, Int32(Self.tagLength), tag) == 1
    }

    /// Decrypts `count` bytes in place and checks `tag` (OpenSSL compares in constant time).
    /// GCM decrypts while it authenticates: on `false` the bytes are garbage the caller drops.
    @inline(__always)
    func open(
        iv: UnsafePointer<UInt8>, aad: UnsafeRawPointer, aadCount: Int, moreAAD: UnsafeRawPointer?, moreAADCount: Int,
        text: UnsafeMutableRawPointer, count: Int, tag: UnsafeMutableRawPointer
    ) -> Bool {
        guard EVP_CipherInit_ex(context, nil, nil, nil, iv, 0) == 1,
            EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_SET_TAG, Int32(Self.tagLength), tag) == 1,
            addAAD(aad, aadCount, moreAAD, moreAADCount),
            update(text, count)
        else { return false }
        var written: Int32 = 0
        return EVP_CipherFinal_ex(context, tag.assumingMemoryBound(to: UInt8.self), &written) == 1
    }

    @inline(__always)
    private func start(
        iv: UnsafePointer<UInt8>, encrypt: Bool, aad: UnsafeRawPointer, _ aadCount: Int, _ moreAAD: UnsafeRawPointer?,
        _ moreAADCount: Int
    ) -> Bool {
        EVP_CipherInit_ex(context, nil, nil, nil, iv, encrypt ? 1 : 0) == 1
            && addAAD(aad, aadCount, moreAAD, moreAADCount)
    }

    @inline(__always)
    private func addAAD(_ aad: UnsafeRawPointer, _ count: Int, _ more: UnsafeRawPointer?, _ moreCount: Int) -> Bool {
        var written: Int32 = 0
        guard EVP_CipherUpdate(context, nil, &written, aad.assumingMemoryBound(to: UInt8.self), Int32(count)) == 1
        else { return false }
        guard let more, moreCount > 0 else { return true }
        return EVP_CipherUpdate(context, nil, &written, more.assumingMemoryBound(to: UInt8.self), Int32(moreCount)) == 1
    }

    @inline(__always)
    private func update(_ text: UnsafeMutableRawPointer, _ count: Int) -> Bool {
        guard count > 0 else { return true }
        let bytes = text.assumingMemoryBound(to: UInt8.self)
        var written: Int32 = 0
        return EVP_CipherUpdate(context, bytes, &written, bytes, Int32(count)) == 1
    }
}

/// HMAC-SHA1 (RFC 2104) with the key's inner and outer SHA-1 states computed once; a packet
/// copies the two states (see `chorus_hmac_sha1_key` for why not OpenSSL's HMAC or EVP_MAC).
struct HMACSHA1 {
    static let length = 20
    private let key: UnsafeMutablePointer<chorus_hmac_sha1_key>

    init(key secret: [UInt8]) {
        key = .allocate(capacity: 1)
        chorus_hmac_sha1_key_init(key, secret, secret.count)
    }

    func free() {
        OPENSSL_cleanse(key, MemoryLayout<chorus_hmac_sha1_key>.size)
        key.deallocate()
    }

    /// Starts loading the two SHA-1 states, as a hint.
    @inline(__always)
    func prefetch() { chorus_prefetch_lines(UnsafeRawPointer(key), 4) }

    /// The 20-byte HMAC of `count` bytes at `data` followed by `suffixCount` bytes at `suffix`.
    @inline(__always)
    func authenticate(
        _ data: UnsafeRawPointer, count: Int, suffix: UnsafeRawPointer?, suffixCount: Int,
        into out: UnsafeMutableRawPointer
    ) {
        chorus_hmac_sha1(
            key, data.assumingMemoryBound(to: UInt8.self), count, suffix?.assumingMemoryBound(to: UInt8.self),
            suffixCount, out.assumingMemoryBound(to: UInt8.self))
    }
}
