// Answers the connectivity checks an SFU sends to a load-test peer. ClientTransport only sends
// checks, which is all an ICE-lite server like Chorus needs (RFC 8445 §2.5), but Janus's libnice
// sends triggered checks even in its lite mode and nominates the pair only once one of them
// succeeds ("will be nominated on response receipt"); until then it ignores our DTLS. A
// browser, being a full agent, answers them (RFC 8445 §7.3), so the peer does too.

import ICE

struct ICECheckResponder {
    /// RFC 8445 §7.2.2: the server's checks carry "our ufrag:their ufrag", keyed with our password.
    private let expectedUsername: String
    private let localKey: [UInt8]

    init(local: ICECredentials, remote: ICECredentials) {
        expectedUsername = local.ufrag + ":" + remote.ufrag
        localKey = Array(local.pwd.utf8)
    }

    /// The success response to an authenticated Binding request from `source`; nil for
    /// anything else (responses, indications, other methods, bad credentials), which then
    /// goes on to the transport or is dropped.
    func response(to bytes: UnsafeRawBufferPointer, from source: TransportAddress) -> [UInt8]? {
        guard STUNMessage.looksLikeSTUN(bytes), let request = try? STUNMessage(parsing: bytes) else { return nil }
        guard request.messageClass == .request, request.method == .binding else { return nil }
        guard request.username == expectedUsername, request.messageIntegrity != nil,
              STUNMessage.verifyMessageIntegrity(bytes, key: localKey)
        else { return nil }
        // RFC 8445 §7.3.1.4: XOR-MAPPED-ADDRESS is the request's source; the role is not
        // contested here (the server says controlled, we are controlling).
        let response = STUNMessage(
            messageClass: .successResponse, method: .binding, transactionID: request.transactionID,
            attributes: [.xorMappedAddress(source)])
        return response.encode(integrityKey: localKey, fingerprint: true)
    }
}
