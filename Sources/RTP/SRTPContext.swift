// One direction of SRTP/SRTCP for one DTLS association, behind a small protocol so that the
// packet path can switch backends (SRTPBackend: OpenSSL EVP by default, libsrtp2 as reference).

public enum SRTPError: Error, Equatable, Sendable {
    case authenticationFailed
    case replayed
    case bufferTooSmall
    case badPacket
    case backend(code: Int)
}

/// Protects (outbound) or unprotects (inbound) packets in place. Not thread-safe: a context
/// lives on its transport's worker.
public protocol SRTPContext: AnyObject {
    var profile: SRTPProfile { get }
    /// Encrypts `length` bytes at `packet` in place and appends the tag; returns the new length.
    /// `capacity` must leave room for `profile.rtpOverhead`.
    func protectRTP(_ packet: UnsafeMutableRawPointer, length: Int, capacity: Int) throws(SRTPError) -> Int
    /// Checks and decrypts in place; returns the plain length.
    func unprotectRTP(_ packet: UnsafeMutableRawPointer, length: Int) throws(SRTPError) -> Int
    func protectRTCP(_ packet: UnsafeMutableRawPointer, length: Int, capacity: Int) throws(SRTPError) -> Int
    func unprotectRTCP(_ packet: UnsafeMutableRawPointer, length: Int) throws(SRTPError) -> Int
    /// A cache hint ahead of `protectRTP` for `ssrc`, in two steps taken some time apart: stage 0
    /// starts loading the context's own state, stage 1 (once that has arrived) the stream's.
    /// Changes nothing observable; a backend without a fast path ignores it.
    func prefetchProtect(ssrc: UInt32, stage: Int)
}

extension SRTPContext {
    public func prefetchProtect(ssrc: UInt32, stage: Int) {}
}

public enum SRTPDirection: Sendable {
    /// Protects what we send (any SSRC we write).
    case outbound
    /// Unprotects what we receive (any SSRC the peer sends).
    case inbound
}
