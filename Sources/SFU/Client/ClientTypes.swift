// The values a ClientTransport hands out: its state, the datagrams it wants sent, the events
// it reports, and why sending failed. Plain values, so a test or load generator can keep them.

import ICE
import RTP

public enum ClientTransportState: Equatable, Sendable {
    /// Sending ICE connectivity checks; no success response yet.
    case checking
    /// ICE succeeded; the DTLS handshake is running.
    case handshaking
    /// DTLS done and SRTP keyed: media flows both ways.
    case connected
    /// ICE or DTLS failed, or consent expired; nothing more is sent.
    case failed(String)
    /// Closed by us (`close()`) or by the peer's close_notify.
    case closed
}

/// One datagram the transport wants on the wire.
public struct ClientDatagram: Equatable, Sendable {
    public var bytes: [UInt8]
    /// Always the transport's `localAddress`: a simulated network needs it, a socket does not.
    public var source: TransportAddress
    public var destination: TransportAddress
}

/// A received RTP packet, decrypted and copied out of the receive buffer.
public struct ClientRTPPacket: Equatable, Sendable {
    public var marker: Bool
    public var payloadType: UInt8
    public var sequenceNumber: SequenceNumber
    public var timestamp: RTPTimestamp
    public var ssrc: UInt32
    /// RFC 8285 elements by local id (one- or two-byte form); empty without the X bit.
    public var extensions: [UInt8: [UInt8]]
    /// After the header, without padding.
    public var payload: [UInt8]
}

public enum ClientEvent: Equatable, Sendable {
    /// DTLS completed and SRTP is keyed (once per transport).
    case connected
    case rtp(ClientRTPPacket)
    /// One decrypted compound RTCP datagram.
    case rtcp([RTCPPacket])
    /// The transport gave up; `state` says the same.
    case failed(String)
    /// The peer sent close_notify (the SFU closed this transport).
    case closed
}

public enum ClientTransportError: Error, Equatable, Sendable {
    /// No SRTP keys yet, or the transport failed or closed.
    case notConnected
    /// Header, extensions, payload and SRTP tag do not fit in one datagram.
    case packetTooLarge
    /// An RFC 8285 one-byte element needs an id in 1...14 and 1...16 bytes of data.
    case badExtension(id: UInt8)
    /// libsrtp refused to protect (should not happen with valid keys).
    case srtp(SRTPError)
}

/// Timers of the controlling ICE side (RFC 8445 §14, RFC 7675 §5.1).
public struct ClientTransportConfiguration: Sendable {
    /// Between checks until the first success response (RFC 8445 §14.2 paces at Ta = 50 ms;
    /// one pair needs no more).
    public var checkInterval: Duration
    /// Between consent checks once connected (RFC 7675 §5.1 asks for 4-6 s, randomised; tests
    /// want it fixed).
    public var consentInterval: Duration
    /// No success response for this long, before or after connecting, fails the transport.
    public var consentTimeout: Duration
    public var srtpBackend: SRTPBackend

    public init(
        checkInterval: Duration = .milliseconds(50), consentInterval: Duration = .seconds(5),
        consentTimeout: Duration = .seconds(30), srtpBackend: SRTPBackend = .default
    ) {
        self.srtpBackend = srtpBackend
        self.checkInterval = checkInterval
        self.consentInterval = consentInterval
        self.consentTimeout = consentTimeout
    }
}
