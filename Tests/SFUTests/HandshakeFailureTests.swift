// A DTLS certificate that does not match the SDP fingerprint, on either side, over the
// in-memory network: the side that checks refuses and tells the other at once (close_notify),
// so neither waits 30 s for consent to run out, and no media key is ever used.

import Testing
import ICE
import RTP
@testable import SFU
import SFUTesting

@Suite struct HandshakeFailureTests {
    @Test func sfuRefusesAClientWhoseCertificateIsNotTheOffered() throws {
        let call = try CallFixture(connect: false)
        // The offer names another certificate than the one the client then presents.
        let stranger = try DTLSContext(certificate: DTLSCertificate())
        let answer = try call.core.publish(
            room: CallFixture.room, participantID: CallFixture.publisherID, identity: "Alice",
            remote: ClientTransport.offer(localICE: call.publisher.ice, dtlsContext: stranger),
            tracks: CallFixture.publishedTracks, now: call.net.now)
        try call.net.attach(call.publisher, answer: answer)
        call.net.advance(by: .milliseconds(200))
        #expect(call.roomState == nil, "the SFU closed the transport and its room")
        #expect(call.core.statsSnapshot.transports == 0)
        #expect(call.publisher.transport.state == .closed, "the client was told with close_notify")
        #expect(call.publisher.wasClosed)
        #expect(throws: ClientTransportError.notConnected) {
            try call.publisher.transport.sendRTP(payloadType: 96, sequenceNumber: 1, timestamp: 1, ssrc: 1, payload: [1])
        }
    }

    @Test func clientRefusesAnSFUWhoseCertificateIsNotTheAnswered() throws {
        let call = try CallFixture(connect: false)
        var answer = try call.core.publish(
            room: CallFixture.room, participantID: CallFixture.publisherID, identity: "Alice",
            remote: call.publisher.offer, tracks: CallFixture.publishedTracks, now: call.net.now)
        answer.fingerprint = try DTLSCertificate().fingerprint
        try call.net.attach(call.publisher, answer: answer)
        call.net.advance(by: .milliseconds(200))
        #expect(call.publisher.transport.state == .failed("DTLS: peer certificate does not match the SDP fingerprint"))
        #expect(call.publisher.events == [.failed("DTLS: peer certificate does not match the SDP fingerprint")])
        // The SFU had completed its side; the close_notify ends it now, not after consent expiry.
        #expect(call.roomState == nil)
        #expect(call.core.statsSnapshot.transports == 0)
    }

    @Test func wrongICEPasswordNeverConnects() throws {
        let call = try CallFixture(connect: false)
        var answer = try call.core.publish(
            room: CallFixture.room, participantID: CallFixture.publisherID, identity: "Alice",
            remote: call.publisher.offer, tracks: CallFixture.publishedTracks, now: call.net.now)
        answer.ice = ICECredentials(ufrag: answer.ice.ufrag, pwd: "not-the-password-at-all!")
        try call.net.attach(call.publisher, answer: answer)
        call.net.advance(by: .seconds(1))
        // Every check is refused (401 without integrity, which the client does not act on).
        #expect(call.publisher.transport.state == .checking)
        #expect(call.roomState?.participants.first?.transportState == .new)
        #expect(call.publisher.transport.stats.dropped > 10)
        call.net.advance(by: .seconds(30))
        #expect(call.publisher.transport.state == .failed("ICE: no ICE success response"))
        #expect(call.roomState == nil)
    }
}
