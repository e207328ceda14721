// The ICE-lite agent against scripted peers and a fake clock: check answers, error codes,
// nomination, and RFC 7675 consent expiry.
import Testing
@testable import ICE

@Suite struct ICELiteAgentTests {
    static let local = ICECredentials(ufrag: "srvU", pwd: "serverpassword0123456789")
    static let remote = ICECredentials(ufrag: "cliU", pwd: "clientpassword0123456789")
    static let a = TransportAddress(ip: .v4(198, 51, 100, 1), port: 40000)
    static let b = TransportAddress(ip: .v4(198, 51, 100, 2), port: 40002)
    static let c = TransportAddress(string: "2001:db8::7", port: 40004)!

    /// A fixed origin; every other instant is derived from it, so the tests never read a clock
    /// that moves.
    let t0 = ContinuousClock.now

    func agent(remote: ICECredentials? = Self.remote) -> ICELiteAgent {
        ICELiteAgent(local: Self.local, remote: remote, now: t0)
    }

    func at(_ seconds: Double) -> ContinuousClock.Instant { t0 + .seconds(seconds) }

    /// A Binding request as a browser (controlling, full ICE) sends it.
    func check(
        username: String = "srvU:cliU", password: String = Self.local.pwd, useCandidate: Bool = false,
        id: STUNTransactionID = .random()
    ) -> [UInt8] {
        STUNMessage.bindingRequest(
            username: username, password: password, priority: 0x6E00_1EFF, tieBreaker: 42,
            useCandidate: useCandidate, transactionID: id
        ).1
    }

    func send(_ bytes: [UInt8], to agent: inout ICELiteAgent, from source: TransportAddress, at now: ContinuousClock.Instant) -> ICELiteAgent.Output {
        bytes.withUnsafeBytes { agent.handle($0, from: source, now: now) }
    }

    /// The response bytes, after checking that they go back to `source`.
    func response(_ output: ICELiteAgent.Output, to source: TransportAddress) throws -> [UInt8] {
        guard case .respond(let bytes, let destination) = output else {
            Issue.record("expected a response, got \(output)")
            throw STUNError.tooShort
        }
        #expect(destination == source)
        return bytes
    }

    @Test func validCheckGetsAVerifiableSuccessResponse() throws {
        var agent = agent()
        #expect(agent.state == .new)
        #expect(agent.selectedAddress == nil)
        let id = STUNTransactionID(bytes: Array(repeating: 0x5A, count: 12))
        let bytes = try response(send(check(id: id), to: &agent, from: Self.a, at: at(1)), to: Self.a)
        let message = try parse(bytes)
        #expect(message.messageClass == .successResponse && message.method == .binding)
        #expect(message.transactionID == id)
        #expect(message.xorMappedAddress == Self.a)
        #expect(message.fingerprint != nil)
        #expect(verify(bytes, password: Self.local.pwd))
        #expect(!verify(bytes, password: Self.remote.pwd))
        #expect(agent.state == .connected)
        #expect(agent.selectedAddress == Self.a)
        #expect(agent.isValidated(Self.a))
        #expect(!agent.isValidated(Self.b))
    }

    @Test func ipv6SourceIsReflected() throws {
        var agent = agent()
        let bytes = try response(send(check(), to: &agent, from: Self.c, at: at(0)), to: Self.c)
        #expect(try parse(bytes).xorMappedAddress == Self.c)
    }

    @Test func wrongUfragGets401() throws {
        for username in ["xxxx:cliU", "srvU:xxxx", "srvU", "srvUcliU", ":cliU", "srvU2:cliU"] {
            var agent = agent()
            let bytes = try response(send(check(username: username), to: &agent, from: Self.a, at: at(0)), to: Self.a)
            let message = try parse(bytes)
            #expect(message.messageClass == .errorResponse, "\(username)")
            #expect(message.errorCode?.code == 401, "\(username)")
            #expect(message.messageIntegrity == nil)  // RFC 8489 §9.1.3: no integrity on a 401
            #expect(agent.state == .new)
            #expect(!agent.isValidated(Self.a))
        }
    }

    @Test func remotePartIsNotCheckedBeforeTheAnswerArrives() throws {
        var agent = agent(remote: nil)
        let bytes = try response(send(check(username: "srvU:whoever"), to: &agent, from: Self.a, at: at(0)), to: Self.a)
        #expect(try parse(bytes).messageClass == .successResponse)
        agent.remote = Self.remote
        let second = try response(send(check(username: "srvU:whoever"), to: &agent, from: Self.a, at: at(1)), to: Self.a)
        #expect(try parse(second).errorCode?.code == 401)
    }

    @Test func badIntegrityGets401() throws {
        var agent = agent()
        let bytes = try response(send(check(password: Self.remote.pwd), to: &agent, from: Self.a, at: at(0)), to: Self.a)
        #expect(try parse(bytes).errorCode?.code == 401)
        #expect(agent.state == .new)
        // A bit flipped after signing, with the FINGERPRINT recomputed so that only the HMAC fails.
        var message = try parse(check())
        message.attributes = message.attributes.map { if case .priority = $0 { .priority(1) } else { $0 } }
        let forged = message.encode(fingerprint: true)  // no integrity at all
        let noIntegrity = try response(send(forged, to: &agent, from: Self.a, at: at(0)), to: Self.a)
        #expect(try parse(noIntegrity).errorCode?.code == 400)
        let wrongKey = message.encode(integrityKey: Array("guess".utf8), fingerprint: true)
        let unauthorized = try response(send(wrongKey, to: &agent, from: Self.a, at: at(0)), to: Self.a)
        #expect(try parse(unauthorized).errorCode?.code == 401)
        #expect(agent.state == .new)
    }

    @Test func missingUsernameGets400() throws {
        var agent = agent()
        let request = STUNMessage(
            messageClass: .request, method: .binding, transactionID: .random(), attributes: [.priority(1)])
        let bytes = request.encode(integrityKey: Array(Self.local.pwd.utf8), fingerprint: true)
        let reply = try parse(response(send(bytes, to: &agent, from: Self.a, at: at(0)), to: Self.a))
        #expect(reply.errorCode?.code == 400)
        #expect(reply.transactionID == request.transactionID)
    }

    @Test func iceControlledGets487() throws {
        var agent = agent()
        let request = STUNMessage(
            messageClass: .request, method: .binding, transactionID: .random(),
            attributes: [.username("srvU:cliU"), .priority(1), .iceControlled(7)])
        let bytes = request.encode(integrityKey: Array(Self.local.pwd.utf8), fingerprint: true)
        let reply = try response(send(bytes, to: &agent, from: Self.a, at: at(0)), to: Self.a)
        let message = try parse(reply)
        #expect(message.messageClass == .errorResponse)
        #expect(message.errorCode?.code == 487)
        #expect(message.errorCode?.reason == "Role Conflict")
        #expect(verify(reply, password: Self.local.pwd))  // authenticated request: signed error
        #expect(agent.state == .new)
        #expect(!agent.isValidated(Self.a))
    }

    @Test func unknownComprehensionRequiredAttributeGets420() throws {
        var agent = agent()
        let request = STUNMessage(
            messageClass: .request, method: .binding, transactionID: .random(),
            attributes: [.username("srvU:cliU"), .unknown(type: 0x0077, value: [1]), .unknown(type: 0xC057, value: [0, 1, 0, 0])])
        let bytes = request.encode(integrityKey: Array(Self.local.pwd.utf8), fingerprint: true)
        let reply = try response(send(bytes, to: &agent, from: Self.a, at: at(0)), to: Self.a)
        let message = try parse(reply)
        #expect(message.errorCode?.code == 420)
        #expect(message.attributes.contains(.unknown(type: 0x000A, value: [0x00, 0x77])))
        #expect(verify(reply, password: Self.local.pwd))
    }

    @Test func nonRequestsAndGarbageAreDropped() {
        var agent = agent()
        let success = STUNMessage(messageClass: .successResponse, method: .binding, transactionID: .random()).encode()
        let indication = STUNMessage(messageClass: .indication, method: .binding, transactionID: .random()).encode()
        let allocate = STUNMessage(messageClass: .request, method: STUNMethod(rawValue: 0x003), transactionID: .random()).encode()
        var badFingerprint = check()
        badFingerprint[badFingerprint.count - 1] ^= 1
        for bytes in [success, indication, allocate, badFingerprint, [0x80, 0x60, 0, 1], []] {
            guard case .drop = send(bytes, to: &agent, from: Self.a, at: at(0)) else {
                Issue.record("\(bytes.prefix(4)) was not dropped")
                continue
            }
        }
        #expect(agent.state == .new)
    }

    @Test func nominationSwitchesTheSelectedAddress() throws {
        var agent = agent()
        _ = send(check(), to: &agent, from: Self.a, at: at(0))
        #expect(agent.selectedAddress == Self.a)  // first validated, before any nomination
        _ = send(check(), to: &agent, from: Self.b, at: at(1))
        #expect(agent.selectedAddress == Self.a)
        #expect(agent.isValidated(Self.b))
        _ = send(check(useCandidate: true), to: &agent, from: Self.b, at: at(2))
        #expect(agent.selectedAddress == Self.b)
        _ = send(check(), to: &agent, from: Self.c, at: at(3))
        #expect(agent.selectedAddress == Self.b)  // un-nominated checks no longer move it
        _ = send(check(useCandidate: true), to: &agent, from: Self.a, at: at(4))
        #expect(agent.selectedAddress == Self.a)  // the latest nomination wins
        // A USE-CANDIDATE that fails authentication nominates nothing.
        _ = send(check(password: "wrong", useCandidate: true), to: &agent, from: Self.c, at: at(5))
        #expect(agent.selectedAddress == Self.a)
    }

    @Test func consentExpiresAfter30SecondsWithoutChecks() {
        var agent = agent()
        _ = send(check(useCandidate: true), to: &agent, from: Self.a, at: at(2))
        #expect(agent.nextTimeout() == at(32))
        agent.handleTimeout(now: at(31.999))
        #expect(agent.state == .connected)
        agent.handleTimeout(now: at(32))
        #expect(agent.state == .closed(reason: "consent expired"))
        #expect(agent.nextTimeout() == nil)
        #expect(!agent.isValidated(Self.a))
    }

    @Test func consentStaysAliveWithChecksEvery5Seconds() {
        var agent = agent()
        var now = at(0)
        // Ten minutes of checks every 5 s, with the timer driven exactly as an I/O shell would.
        for _ in 0..<120 {
            _ = send(check(useCandidate: true), to: &agent, from: Self.a, at: now)
            let deadline = now + .seconds(5)
            while let next = agent.nextTimeout(), next <= deadline {
                agent.handleTimeout(now: next)
            }
            agent.handleTimeout(now: deadline)
            #expect(agent.state == .connected)
            now = deadline
        }
        let lastCheck = now - .seconds(5)
        #expect(agent.nextTimeout() == lastCheck + .seconds(30))
        agent.handleTimeout(now: lastCheck + .seconds(30))
        #expect(agent.state == .closed(reason: "consent expired"))
    }

    @Test func checksFromAnotherAddressDoNotKeepTheSelectedOneAlive() {
        var agent = agent()
        _ = send(check(useCandidate: true), to: &agent, from: Self.a, at: at(0))
        for second in stride(from: 5.0, through: 30, by: 5) {
            _ = send(check(), to: &agent, from: Self.b, at: at(second))
        }
        agent.handleTimeout(now: at(30))
        #expect(agent.state == .closed(reason: "consent expired"))
    }

    @Test func withoutNominationTheFreshestAddressTakesOver() {
        var agent = agent()
        _ = send(check(), to: &agent, from: Self.a, at: at(0))
        for second in stride(from: 5.0, through: 30, by: 5) {
            _ = send(check(), to: &agent, from: Self.b, at: at(second))
        }
        agent.handleTimeout(now: at(30))
        #expect(agent.state == .connected)
        #expect(agent.selectedAddress == Self.b)
        #expect(!agent.isValidated(Self.a))
    }

    @Test func staleAddressesStopBeingValidated() {
        var agent = agent()
        _ = send(check(useCandidate: true), to: &agent, from: Self.a, at: at(0))
        _ = send(check(), to: &agent, from: Self.b, at: at(1))
        _ = send(check(useCandidate: true), to: &agent, from: Self.a, at: at(20))
        #expect(agent.nextTimeout() == at(31))  // b's expiry comes first
        agent.handleTimeout(now: at(31))
        #expect(agent.state == .connected)
        #expect(!agent.isValidated(Self.b))
        #expect(agent.isValidated(Self.a))
        #expect(agent.nextTimeout() == at(50))
    }

    @Test func neverConnectedClosesAfterTheTimeout() {
        var agent = agent()
        #expect(agent.nextTimeout() == t0 + .seconds(30))
        agent.handleTimeout(now: at(29))
        #expect(agent.state == .new)
        agent.handleTimeout(now: at(30))
        guard case .closed = agent.state else {
            Issue.record("still \(agent.state)")
            return
        }
        #expect(agent.nextTimeout() == nil)
    }

    @Test func customConsentTimeout() {
        var agent = ICELiteAgent(local: Self.local, remote: Self.remote, now: t0, consentTimeout: .seconds(10))
        _ = send(check(), to: &agent, from: Self.a, at: at(0))
        #expect(agent.nextTimeout() == at(10))
        agent.handleTimeout(now: at(10))
        #expect(agent.state == .closed(reason: "consent expired"))
    }

    @Test func closedAgentDropsEverything() {
        var agent = agent()
        _ = send(check(), to: &agent, from: Self.a, at: at(0))
        agent.close(reason: "transport closed")
        agent.close(reason: "second reason")
        #expect(agent.state == .closed(reason: "transport closed"))
        #expect(!agent.isValidated(Self.a))
        #expect(send(check(), to: &agent, from: Self.a, at: at(1)) == .drop(reason: "agent closed"))
        agent.handleTimeout(now: at(100))
        #expect(agent.state == .closed(reason: "transport closed"))
    }

    /// An authenticated peer that checks from ever more addresses cannot grow the table
    /// without bound, and the selected address is never the one forgotten.
    @Test func validatedAddressesAreBounded() {
        var agent = agent()
        _ = send(check(useCandidate: true), to: &agent, from: Self.a, at: at(0))
        let others = (0..<40).map { TransportAddress(ip: .v4(10, 0, 0, UInt8($0)), port: 5000) }
        for (index, address) in others.enumerated() {
            _ = send(check(), to: &agent, from: address, at: at(1 + Double(index) / 10))
        }
        #expect(agent.isValidated(Self.a))
        #expect(agent.selectedAddress == Self.a)
        let remembered = others.filter(agent.isValidated)
        #expect(remembered.count == ICELiteAgent.maxValidatedAddresses - 1)
        #expect(remembered == Array(others.suffix(remembered.count)))  // the stalest went first
    }
}
