// Which SRTP implementation a transport uses: OpenSSL EVP on the packet path (no allocation,
// no lock, 2-7x faster here), libsrtp2 as the reference the tests cross-check against.

public enum SRTPBackend: String, Sendable, CaseIterable, CustomStringConvertible {
    case openssl
    case libsrtp

    public static let `default` = SRTPBackend.openssl

    public func makeContext(profile: SRTPProfile, masterKey: SRTPMasterKey, direction: SRTPDirection) throws(SRTPError) -> any SRTPContext {
        switch self {
        case .openssl: try OpenSSLSRTPContext(profile: profile, masterKey: masterKey, direction: direction)
        case .libsrtp: try LibSRTPContext(profile: profile, masterKey: masterKey, direction: direction)
        }
    }

    public var description: String { rawValue }
}
