// One DTLS association (RFC 6347) as a sans-IO state machine over OpenSSL: datagrams and the
// time go in, datagrams to send and SRTP keys (RFC 5764 §4.2) come out. No sockets, no threads.

import COpenSSL
import RTP

public enum DTLSRole: Sendable {
    /// Waits for the ClientHello (`a=setup:passive`, what the SFU always answers).
    case server
    /// Sends the ClientHello (`a=setup:active`; used by tests and the load generator).
    case client
}

/// The SRTP keys of one association, from our point of view.
public struct DTLSSRTPKeys: Sendable, Equatable {
    public var profile: SRTPProfile
    /// Protects what we send.
    public var local: SRTPMasterKey
    /// Unprotects what the peer sends.
    public var remote: SRTPMasterKey
}

public final class DTLSEndpoint {
    public enum State: Equatable, Sendable {
        case handshaking
        case connected
        case failed(String)
        case closed
    }

    public let role: DTLSRole
    public private(set) var state: State = .handshaking
    /// Set once, when the handshake completed and the peer's certificate matched the SDP.
    public private(set) var srtpKeys: DTLSSRTPKeys?

    private let context: DTLSContext
    private let ssl: OpaquePointer
    private let incoming: OpaquePointer  // memory BIO we write received datagrams into
    private let outgoing: OpaquePointer  // datagram BIO OpenSSL writes records into
    private let remoteFingerprints: [DTLSFingerprint]
    private var retransmitDeadline: ContinuousClock.Instant?

    /// `remoteFingerprints`: every `a=fingerprint` of the peer's SDP; the handshake fails unless
    /// the peer's certificate matches one of them (RFC 8122 §5).
    public init(
        context: DTLSContext, role: DTLSRole, remoteFingerprints: [DTLSFingerprint], mtu: Int = 1200
    ) throws(DTLSError) {
        guard let ssl = SSL_new(context.context) else {
            throw .openSSL(openSSLErrorDescription("SSL_new failed"))
        }
        guard let incoming = BIO_new(BIO_s_mem()), let outgoing = chorus_datagram_bio_new() else {
            SSL_free(ssl)
            throw .openSSL(openSSLErrorDescription("BIO_new failed"))
        }
        chorus_bio_set_mem_eof_return_retry(incoming)
        SSL_set_bio(ssl, incoming, outgoing)  // ssl owns both BIOs from here
        chorus_ssl_set_mtu(ssl, mtu)
        chorus_dtls_use_short_timer(ssl)
        switch role {
        case .server: SSL_set_accept_state(ssl)
        case .client: SSL_set_connect_state(ssl)
        }
        self.context = context
        self.role = role
        self.ssl = ssl
        self.incoming = incoming
        self.outgoing = outgoing
        self.remoteFingerprints = remoteFingerprints
    }

    deinit { SSL_free(ssl) }

    /// A client sends its ClientHello; a server does nothing until one arrives.
    public func start(now: ContinuousClock.Instant) {
        guard role == .client, state == .handshaking else { return }
        advanceHandshake(now: now)
    }

    /// Feeds one received DTLS datagram.
    public func handle(datagram: UnsafeRawBufferPointer, now: ContinuousClock.Instant) {
        guard state == .handshaking || state == .connected, datagram.count > 0 else { return }
        _ = BIO_write(incoming, datagram.baseAddress, Int32(datagram.count))
        switch state {
        case .handshaking:
            advanceHandshake(now: now)
        case .connected:
            drainApplicationData()
        default:
            break
        }
    }

    /// The next datagram to send, copied into `buffer`; nil when none is queued.
    public func pollTransmit(into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        let n = chorus_datagram_bio_pop(outgoing, buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), buffer.count)
        return n > 0 ? Int(n) : nil
    }

    /// Convenience for tests and low-rate paths.
    public func pollTransmit() -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 2048)
        guard let n = buffer.withUnsafeMutableBytes({ pollTransmit(into: $0) }) else { return nil }
        return Array(buffer[0..<n])
    }

    public var nextTimeout: ContinuousClock.Instant? {
        state == .handshaking ? retransmitDeadline : nil
    }

    /// Retransmits the last flight when its timer ran out (RFC 6347 §4.2.4). OpenSSL checks the
    /// expiry against the wall clock itself, so `now` only decides when to ask it.
    public func handleTimeout(now: ContinuousClock.Instant) {
        guard state == .handshaking, let deadline = retransmitDeadline, now >= deadline else { return }
        if chorus_dtls_handle_timeout(ssl) < 0 {
            state = .failed(openSSLErrorDescription("handshake timed out"))
            return
        }
        updateTimer(now: now)
    }

    /// Sends close_notify and stops.
    public func close() {
        guard state == .connected || state == .handshaking else { return }
        _ = SSL_shutdown(ssl)
        state = .closed
    }

    // MARK: - Internals

    private func advanceHandshake(now: ContinuousClock.Instant) {
        let result = SSL_do_handshake(ssl)
        if result == 1 {
            completeHandshake()
            return
        }
        let error = SSL_get_error(ssl, result)
        if error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE {
            updateTimer(now: now)
        } else {
            state = .failed(openSSLErrorDescription("handshake failed (SSL error \(error))"))
        }
    }

    private func updateTimer(now: ContinuousClock.Instant) {
        var seconds = 0
        var microseconds = 0
        if chorus_dtls_get_timeout(ssl, &seconds, &microseconds) == 1 {
            retransmitDeadline = now + .seconds(seconds) + .microseconds(microseconds)
        } else {
            retransmitDeadline = nil
        }
    }

    private func completeHandshake() {
        retransmitDeadline = nil
        guard let peer = SSL_get1_peer_certificate(ssl) else {
            state = .failed("peer sent no certificate")
            return
        }
        defer { X509_free(peer) }
        let matches = remoteFingerprints.contains { expected in
            DTLSFingerprint.of(certificate: peer, algorithm: expected.algorithm) == expected
        }
        guard matches else {
            // The check runs after OpenSSL finished the handshake, so the peer already believes
            // it worked: close_notify tells it now rather than after its 30 s consent timeout
            // (RFC 8122 §5: no connection with a certificate that matches no fingerprint).
            _ = SSL_shutdown(ssl)
            state = .failed("peer certificate does not match the SDP fingerprint")
            return
        }
        guard let selected = SSL_get_selected_srtp_profile(ssl),
            let profile = SRTPProfile(dtlsProfileID: UInt(selected.pointee.id))
        else {
            state = .failed("no SRTP profile negotiated (use_srtp)")
            return
        }
        let label = "EXTRACTOR-dtls_srtp"
        var material = [UInt8](repeating: 0, count: 2 * (profile.keyLength + profile.saltLength))
        let exported = label.withCString { cLabel in
            SSL_export_keying_material(ssl, &material, material.count, cLabel, label.utf8.count, nil, 0, 0)
        }
        guard exported == 1, let keys = SRTPMasterKey.split(exported: material, profile: profile) else {
            state = .failed(openSSLErrorDescription("keying material export failed"))
            return
        }
        srtpKeys = role == .server
            ? DTLSSRTPKeys(profile: profile, local: keys.server, remote: keys.client)
            : DTLSSRTPKeys(profile: profile, local: keys.client, remote: keys.server)
        state = .connected
    }

    /// After the handshake the peer may resend its last flight or send an alert; WebRTC media
    /// goes over SRTP, so application data (a data channel) is read and discarded here.
    private func drainApplicationData() {
        var scratch = [UInt8](repeating: 0, count: 2048)
        while true {
            let n = SSL_read(ssl, &scratch, Int32(scratch.count))
            if n > 0 { continue }
            let error = SSL_get_error(ssl, n)
            if error == SSL_ERROR_ZERO_RETURN || (SSL_get_shutdown(ssl) & SSL_RECEIVED_SHUTDOWN) != 0 {
                state = .closed
            } else if error != SSL_ERROR_WANT_READ {
                _ = openSSLErrorDescription("")  // a bad record is dropped; the association stays
            }
            return
        }
    }
}
