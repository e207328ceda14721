// The controlling ICE side of ClientTransport against a bare ICELiteAgent: what its checks
// carry (RFC 8445 §7.2.2), which responses it believes, and its consent timers (RFC 7675).

import Testing
import ICE
import RTP
@testable import SFU

@Suite struct ClientTransportTests {
    let serverICE = ICECredentials.random()
    let serverAddress = TransportAddress(ip: .v4(10, 0, 0, 1), port: 40000)
    let clientAddress = TransportAddress(ip: .v4(192, 0, 2, 7), port: 50000)
    let clientContext: DTLSContext
    let serverFingerprint: DTLSFingerprint

    init() throws {
        clientContext = try DTLSContext(certificate: DTLSCertificate())
        serverFingerprint = try DTLSCertificate().fingerprint
    }

    private func makeClient(now: ContinuousClock.Instant) throws -> ClientTransport {
        try ClientTransport(
            remoteICE: serverICE, remoteFingerprints: [serverFingerprint], remoteAddress: serverAddress,
            localAddress: clientAddress, dtlsContext: clientContext, now: now)
    }

    private func makeAgent(for client: ClientTransport, now: ContinuousClock.Instant) -> ICELiteAgent {
        ICELiteAgent(local: serverICE, remote: client.localICE, now: now)
    }

    @Test func firstCheckIsAControllingNominationSignedWithTheRemotePassword() throws {
        let now = ContinuousClock.now
        let client = try makeClient(now: now)
        let check = try #require(client.pollTransmit())
        #expect(check.destination == serverAddress)
        #expect(check.source == clientAddress)
        #expect(client.pollTransmit() == nil)
        let message = try check.bytes.withUnsafeBytes { try STUNMessage(parsing: $0) }
        #expect(message.messageClass == .request)
        #expect(message.method == .binding)
        #expect(message.username == serverICE.ufrag + ":" + client.localICE.ufrag)
        #expect(message.priority == 2_130_706_431)
        #expect(message.iceControlling != nil)
        #expect(message.useCandidate)
        #expect(message.fingerprint != nil)
        #expect(check.bytes.withUnsafeBytes { STUNMessage.verifyMessageIntegrity($0, key: Array(serverICE.pwd.utf8)) })
        #expect(client.offer == RemoteTransportParameters(ice: client.localICE, fingerprints: [clientContext.certificate.fingerprint]))
        #expect(client.localFingerprint == clientContext.certificate.fingerprint)
    }

    @Test func successResponseStartsDTLS() throws {
        let now = ContinuousClock.now
        let client = try makeClient(now: now)
        var agent = makeAgent(for: client, now: now)
        let check = try #require(client.pollTransmit())
        guard case .respond(let response, let to) = check.bytes.withUnsafeBytes({ agent.handle($0, from: clientAddress, now: now) }) else {
            Issue.record("the ICE-lite agent refused the check")
            return
        }
        #expect(to == clientAddress)
        client.handle(datagram: response, from: serverAddress, now: now)
        #expect(client.state == .handshaking)
        #expect(client.mappedAddress == clientAddress)
        let hello = try #require(client.pollTransmit())
        #expect(hello.bytes.first == 22, "a DTLS handshake record: the ClientHello")
        #expect(client.nextTimeout != nil)
    }

    @Test func responsesThatCannotBeOursAreIgnored() throws {
        let now = ContinuousClock.now
        let client = try makeClient(now: now)
        var agent = makeAgent(for: client, now: now)
        let check = try #require(client.pollTransmit())
        guard case .respond(let response, _) = check.bytes.withUnsafeBytes({ agent.handle($0, from: clientAddress, now: now) }) else {
            Issue.record("the ICE-lite agent refused the check")
            return
        }
        // From another address (RFC 8445 §7.2.5.2.1: addresses must be symmetric).
        client.handle(datagram: response, from: TransportAddress(ip: .v4(10, 0, 0, 2), port: 40000), now: now)
        // Signed with the wrong password.
        let parsed = try response.withUnsafeBytes { try STUNMessage(parsing: $0) }
        client.handle(datagram: parsed.encode(integrityKey: Array("wrong-password-wrong-pwd".utf8)), from: serverAddress, now: now)
        // Without integrity at all.
        client.handle(datagram: parsed.encode(integrityKey: nil), from: serverAddress, now: now)
        // Another transaction.
        let stranger = STUNMessage(
            messageClass: .successResponse, method: .binding, transactionID: .random(),
            attributes: [.xorMappedAddress(clientAddress)])
        client.handle(datagram: stranger.encode(integrityKey: Array(serverICE.pwd.utf8)), from: serverAddress, now: now)
        #expect(client.state == .checking)
        #expect(client.stats.dropped == 4)
        #expect(client.pollTransmit() == nil)
        // The genuine one still works afterwards.
        client.handle(datagram: response, from: serverAddress, now: now)
        #expect(client.state == .handshaking)
    }

    @Test func checksRepeatUntilAnsweredThenEveryConsentInterval() throws {
        var now = ContinuousClock.now
        let client = try makeClient(now: now)
        var agent = makeAgent(for: client, now: now)
        var checks = 0
        while client.pollTransmit() != nil { checks += 1 }
        for _ in 0..<4 {
            now = try #require(client.nextTimeout)
            client.handleTimeout(now: now)
            while client.pollTransmit() != nil { checks += 1 }
        }
        #expect(checks == 5, "one every 50 ms while unanswered")

        now = try #require(client.nextTimeout)
        client.handleTimeout(now: now)
        let check = try #require(client.pollTransmit())
        guard case .respond(let response, _) = check.bytes.withUnsafeBytes({ agent.handle($0, from: clientAddress, now: now) }) else {
            Issue.record("the ICE-lite agent refused the check")
            return
        }
        client.handle(datagram: response, from: serverAddress, now: now)
        while client.pollTransmit() != nil {}  // the ClientHello
        let answeredAt = now
        // Consent checks every 5 s; no answers, so the transport fails 30 s after the last one.
        var consentChecks: [Duration] = []
        while let deadline = client.nextTimeout, deadline < answeredAt + .seconds(40) {
            now = max(deadline, now)
            client.handleTimeout(now: now)
            while let datagram = client.pollTransmit() {
                if datagram.bytes.first.map({ $0 < 4 }) == true { consentChecks.append(now - answeredAt) }
            }
        }
        #expect(consentChecks == [.seconds(5), .seconds(10), .seconds(15), .seconds(20), .seconds(25)])
        #expect(client.state == .failed("ICE: consent expired"))
        #expect(client.pollEvent() == .failed("ICE: consent expired"))
        #expect(client.nextTimeout == nil)
    }

    @Test func closeStopsEverything() throws {
        let now = ContinuousClock.now
        let client = try makeClient(now: now)
        client.close()
        #expect(client.state == .closed)
        #expect(client.nextTimeout == nil)
        while client.pollTransmit() != nil {}
        client.handleTimeout(now: now + .seconds(10))
        #expect(client.pollTransmit() == nil)
    }
}
