// libFuzzer entry point for SRTP/SRTCP unprotect (RFC 3711, RFC 7714) in both backends. The
// first input byte picks the case, the rest is the packet:
//   bit 0  profile: AES_CM_128_HMAC_SHA1_80 or AEAD_AES_128_GCM
//   bit 1  the receiving backend: OpenSSL EVP (the packet path) or libsrtp2 (the reference)
//   bit 2  SRTCP instead of SRTP
//   bit 3  round trip: the *other* backend protects the packet first, so that the receiver's
//          decryption and index handling run past the tag check; what one backend protects the
//          other must unprotect to the same bytes
// Without bit 3 the packet is unprotected as it came, which exercises the header and length
// checks before authentication: what a peer on the media port controls. Contexts are fresh per
// input, so the replay window never makes a run depend on the ones before it.

import RTP
import CLibFuzzer
import Glibc

private enum Fixture {
    static let cmKey = SRTPMasterKey(key: Array(0x00..<0x10), salt: Array(0x10..<0x1E))
    static let gcmKey = SRTPMasterKey(key: Array(0x20..<0x30), salt: Array(0x30..<0x3C))
    /// Debian's libsrtp2 is built on NSS, which it initialises with each cipher it allocates
    /// and shuts down (unloading NSS's modules: dlopen, dlclose) with the last one freed. One
    /// context held for the whole run keeps NSS loaded: 40 times the executions per second, and
    /// the fresh contexts per input are still fresh. Runs are sequential on libFuzzer's one thread.
    nonisolated(unsafe) static let keepsNSSLoaded: any SRTPContext = {
        do {
            return try SRTPBackend.libsrtp.makeContext(profile: .aes128CmHmacSha1_80, masterKey: cmKey, direction: .inbound)
        } catch {
            fatalError("SRTP context setup failed: \(error)")
        }
    }()
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSRTP(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    _ = Fixture.keepsNSSLoaded
    let mode = data[0]
    let packet = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    let profile: SRTPProfile = mode & 1 == 0 ? .aes128CmHmacSha1_80 : .aeadAes128Gcm
    let key = profile == .aes128CmHmacSha1_80 ? Fixture.cmKey : Fixture.gcmKey
    let receiver: SRTPBackend = mode & 2 == 0 ? .openssl : .libsrtp
    let sender: SRTPBackend = receiver == .openssl ? .libsrtp : .openssl
    let rtcp = mode & 4 != 0
    let roundTrip = mode & 8 != 0
    // Exactly the packet plus the largest overhead, on the heap: ASan sees any byte past it.
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: packet.count + profile.rtcpOverhead, alignment: 16)
    defer { buffer.deallocate() }
    buffer.copyBytes(from: packet)
    let plainLength = packet.count
    let inbound: any SRTPContext
    let outbound: any SRTPContext
    do {
        inbound = try receiver.makeContext(profile: profile, masterKey: key, direction: .inbound)
        outbound = try sender.makeContext(profile: profile, masterKey: key, direction: .outbound)
    } catch {
        fatalError("SRTP context setup failed: \(error)")
    }
    var sent = plainLength
    if roundTrip {
        do {
            sent = rtcp
                ? try outbound.protectRTCP(buffer.baseAddress!, length: plainLength, capacity: buffer.count)
                : try outbound.protectRTP(buffer.baseAddress!, length: plainLength, capacity: buffer.count)
        } catch {
            return 0  // not a packet the sender protects: nothing to compare
        }
        guard sent <= buffer.count else { fatalError("\(sender) protect wrote \(sent) bytes into \(buffer.count)") }
    }
    do {
        let plain = rtcp
            ? try inbound.unprotectRTCP(buffer.baseAddress!, length: sent)
            : try inbound.unprotectRTP(buffer.baseAddress!, length: sent)
        guard plain <= sent else { fatalError("\(receiver) unprotect grew a packet from \(sent) to \(plain) bytes") }
        if roundTrip && (plain != plainLength || !UnsafeRawBufferPointer(rebasing: buffer[..<plain]).elementsEqual(packet)) {
            fatalError("\(sender) protected, \(receiver) unprotected to other bytes (\(profile), rtcp \(rtcp))")
        }
    } catch {
        if roundTrip {
            fatalError("\(sender) protected a packet that \(receiver) refuses: \(error) (\(profile), rtcp \(rtcp), \(plainLength) bytes)")
        }
    }
    return 0
}

// SwiftPM makes this file's top-level code the program's main (see CLibFuzzer/shim.h).
var argumentCount = CommandLine.argc
var arguments = Optional(CommandLine.unsafeArgv)
exit(LLVMFuzzerRunDriver(&argumentCount, &arguments) { data, size in fuzzSRTP(data!, size) })
