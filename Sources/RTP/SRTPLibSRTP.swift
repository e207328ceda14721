// The libsrtp2 backend of SRTPContext: the reference implementation (Debian's libsrtp2).

import CSRTP

/// libsrtp2 must be initialised once per process before any session is created.
private let libsrtpInitialised: Bool = srtp_init() == srtp_err_status_ok

public final class LibSRTPContext: SRTPContext {
    public let profile: SRTPProfile
    private var session: srtp_t?

    /// Replay window for inbound streams: wide enough for video reordering at high rates.
    public static let replayWindow = 1024

    public init(profile: SRTPProfile, masterKey: SRTPMasterKey, direction: SRTPDirection) throws(SRTPError) {
        guard libsrtpInitialised else { throw .backend(code: -1) }
        guard masterKey.key.count == profile.keyLength, masterKey.salt.count == profile.saltLength else {
            throw .badPacket
        }
        self.profile = profile
        var policy = srtp_policy_t()
        switch profile {
        case .aes128CmHmacSha1_80:
            srtp_crypto_policy_set_rtp_default(&policy.rtp)
            srtp_crypto_policy_set_rtcp_default(&policy.rtcp)
        case .aeadAes128Gcm:
            srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp)
            srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp)
        }
        policy.ssrc.type = direction == .inbound ? ssrc_any_inbound : ssrc_any_outbound
        policy.window_size = UInt(Self.replayWindow)
        // We resend packets from a retransmission cache on NACK with the same index.
        policy.allow_repeat_tx = 1
        var keyAndSalt = masterKey.key + masterKey.salt
        var created: srtp_t?
        let status = keyAndSalt.withUnsafeMutableBufferPointer { buffer in
            policy.key = buffer.baseAddress
            return srtp_create(&created, &policy)
        }
        guard status == srtp_err_status_ok, let created else {
            throw .backend(code: Int(status.rawValue))
        }
        session = created
    }

    deinit {
        if let session { srtp_dealloc(session) }
    }

    public func protectRTP(_ packet: UnsafeMutableRawPointer, length: Int, capacity: Int) throws(SRTPError) -> Int {
        guard capacity >= length + profile.rtpOverhead else { throw .bufferTooSmall }
        var len = Int32(length)
        try check(srtp_protect(session, packet, &len))
        return Int(len)
    }

    public func unprotectRTP(_ packet: UnsafeMutableRawPointer, length: Int) throws(SRTPError) -> Int {
        guard length >= 12 + profile.rtpOverhead else { throw .badPacket }
        var len = Int32(length)
        try check(srtp_unprotect(session, packet, &len))
        return Int(len)
    }

    public func protectRTCP(_ packet: UnsafeMutableRawPointer, length: Int, capacity: Int) throws(SRTPError) -> Int {
        guard capacity >= length + profile.rtcpOverhead else { throw .bufferTooSmall }
        var len = Int32(length)
        try check(srtp_protect_rtcp(session, packet, &len))
        return Int(len)
    }

    public func unprotectRTCP(_ packet: UnsafeMutableRawPointer, length: Int) throws(SRTPError) -> Int {
        guard length >= 8 + profile.rtcpOverhead else { throw .badPacket }
        var len = Int32(length)
        try check(srtp_unprotect_rtcp(session, packet, &len))
        return Int(len)
    }

    private func check(_ status: srtp_err_status_t) throws(SRTPError) {
        switch status {
        case srtp_err_status_ok: return
        case srtp_err_status_auth_fail: throw .authenticationFailed
        case srtp_err_status_replay_fail, srtp_err_status_replay_old: throw .replayed
        default: throw .backend(code: Int(status.rawValue))
        }
    }
}
