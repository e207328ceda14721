// The ICE-lite side of one transport (RFC 8445 §2.5, §7.3): answers the peer's connectivity
// checks, follows its nomination, and keeps consent alive from those checks (RFC 7675).
// Sans-IO: bytes, source address and time come in; responses and timeouts go out.

public struct ICELiteAgent: Sendable {
    public enum State: Equatable, Sendable {
        /// No valid check yet.
        case new
        /// At least one check passed; `selectedAddress` is where media goes.
        case connected
        /// Consent expired, never connected in time, or closed by the owner.
        case closed(reason: String)
    }

    public enum Output: Equatable, Sendable {
        /// A success or error response to send back.
        case respond([UInt8], to: TransportAddress)
        /// Silently ignored; the reason is for logs and counters.
        case drop(reason: String)
    }

    public let local: ICECredentials
    /// Known once the peer's SDP arrived; until then the remote half of USERNAME is not checked.
    public var remote: ICECredentials?
    public private(set) var state: State = .new
    /// Where media goes: the nominated address, or before any nomination the first address
    /// that passed a check.
    public private(set) var selectedAddress: TransportAddress?

    private let localKey: [UInt8]
    private let consentTimeout: Duration
    private let createdAt: ContinuousClock.Instant
    /// True once USE-CANDIDATE chose `selectedAddress`; later un-nominated checks then no
    /// longer move the selection.
    private var nominated = false
    /// Addresses that passed a check, with the time of their latest valid check.
    private var validated: [TransportAddress: ContinuousClock.Instant] = [:]

    /// A peer gathers a handful of candidates; the bound keeps a misbehaving authenticated peer
    /// from growing this table without limit.
    static let maxValidatedAddresses = 16

    /// `consentTimeout` is RFC 7675 §5.1's 30 seconds: the peer checks every 5 s or so
    /// (Chrome: about 2.5 s), so six missed checks in a row mean the path or the peer is gone.
    public init(
        local: ICECredentials, remote: ICECredentials?, now: ContinuousClock.Instant,
        consentTimeout: Duration = .seconds(30)
    ) {
        self.local = local
        self.remote = remote
        self.localKey = Array(local.pwd.utf8)
        self.consentTimeout = consentTimeout
        self.createdAt = now
    }

    /// True when a packet from this address may be accepted: the selected address or one that
    /// passed a check (DTLS and SRTP from anywhere else are dropped).
    public func isValidated(_ address: TransportAddress) -> Bool {
        if case .closed = state { return false }
        return address == selectedAddress || validated[address] != nil
    }

    // MARK: - Input

    /// Handles a STUN message from `source`; see `Output`. Only Binding requests are answered.
    public mutating func handle(
        _ bytes: UnsafeRawBufferPointer, from source: TransportAddress, now: ContinuousClock.Instant
    ) -> Output {
        if case .closed = state { return .drop(reason: "agent closed") }
        let request: STUNMessage
        do {
            request = try STUNMessage(parsing: bytes)
        } catch {
            return .drop(reason: "malformed STUN: \(error)")
        }
        // A lite agent sends no requests, so responses are not ours; indications (RFC 8445 §11
        // keepalives) need no answer.
        guard request.messageClass == .request else { return .drop(reason: "not a request: \(request.messageClass)") }
        guard request.method == .binding else { return .drop(reason: "not a Binding request: \(request.method)") }

        // RFC 8489 §9.1.3: short-term credentials. Without USERNAME or MESSAGE-INTEGRITY the
        // request cannot be authenticated: 400, and the error carries no integrity.
        guard let username = request.username, request.messageIntegrity != nil else {
            return .respond(errorResponse(request, 400, "Bad Request", authenticated: false), to: source)
        }
        guard usernameMatches(username) else {
            return .respond(errorResponse(request, 401, "Unauthorized", authenticated: false), to: source)
        }
        guard STUNMessage.verifyMessageIntegrity(bytes, key: localKey) else {
            return .respond(errorResponse(request, 401, "Unauthorized", authenticated: false), to: source)
        }
        // RFC 8489 §6.3.1: after authentication, unknown comprehension-required attributes.
        let unknown = request.unknownComprehensionRequiredAttributes
        if !unknown.isEmpty {
            var list: [UInt8] = []
            for type in unknown { list.appendBigEndian(type) }
            return .respond(
                errorResponse(request, 420, "Unknown Attribute", authenticated: true,
                              extra: [.unknown(type: STUNAttributeType.unknownAttributes, value: list)]),
                to: source)
        }
        // RFC 8445 §7.3.1.1: a lite agent is always controlled (§6.1.1), so a peer that also
        // claims to be controlled has to switch; 487 tells it to.
        if request.iceControlled != nil {
            return .respond(errorResponse(request, 487, "Role Conflict", authenticated: true), to: source)
        }

        recordValidCheck(from: source, nominated: request.useCandidate, now: now)
        let response = STUNMessage(
            messageClass: .successResponse, method: .binding, transactionID: request.transactionID,
            attributes: [.xorMappedAddress(source)])
        return .respond(response.encode(integrityKey: localKey, fingerprint: true), to: source)
    }

    /// Consent freshness (RFC 7675 §5.1): no valid check from the selected address for
    /// `consentTimeout` closes the agent with "consent expired"; so does never connecting
    /// within `consentTimeout` of creation.
    public mutating func handleTimeout(now: ContinuousClock.Instant) {
        switch state {
        case .closed:
            return
        case .new:
            if now >= createdAt + consentTimeout { close(reason: "no valid ICE check") }
        case .connected:
            // Filtering builds a new dictionary: only when an address's consent has run out.
            guard validated.isEmpty || validated.values.contains(where: { now >= $0 + consentTimeout }) else { return }
            validated = validated.filter { now < $0.value + consentTimeout }
            guard let selected = selectedAddress, validated[selected] == nil else { return }
            // Not yet nominated: the peer may simply check over another pair now; follow the
            // freshest one rather than drop a call whose peer nominates late.
            if !nominated, let freshest = validated.max(by: { $0.value < $1.value }) {
                selectedAddress = freshest.key
                return
            }
            close(reason: "consent expired")
        }
    }

    /// When `handleTimeout` must run next; nil once closed.
    public func nextTimeout() -> ContinuousClock.Instant? {
        switch state {
        case .closed:
            return nil
        case .new:
            return createdAt + consentTimeout
        case .connected:
            // The earliest expiry: usually the selected address's consent deadline, otherwise
            // a stale address that must stop being accepted.
            // (Never empty while connected: handleTimeout closes before the last entry goes.)
            guard let oldest = validated.values.min() else { return createdAt }
            return oldest + consentTimeout
        }
    }

    /// Closes for good (ICE restart, transport closed); later requests are dropped.
    /// The first reason is kept.
    public mutating func close(reason: String) {
        if case .closed = state { return }
        state = .closed(reason: reason)
        validated.removeAll()
    }

    // MARK: - Internals

    /// RFC 8445 §7.2.2: the peer sends "ourUfrag:theirUfrag".
    private func usernameMatches(_ username: String) -> Bool {
        guard let colon = username.firstIndex(of: ":") else { return false }
        guard username[..<colon] == local.ufrag else { return false }
        guard let remote else { return true }
        return username[username.index(after: colon)...] == remote.ufrag
    }

    private mutating func recordValidCheck(from source: TransportAddress, nominated useCandidate: Bool, now: ContinuousClock.Instant) {
        if validated[source] == nil, validated.count >= Self.maxValidatedAddresses {
            // Make room: forget expired addresses, else the stalest one that is not selected.
            validated = validated.filter { now < $0.value + consentTimeout }
            if validated.count >= Self.maxValidatedAddresses,
               let stalest = validated.filter({ $0.key != selectedAddress }).min(by: { $0.value < $1.value }) {
                validated[stalest.key] = nil
            }
        }
        validated[source] = now
        if useCandidate {
            // RFC 8445 §8.1.1: the controlling peer's latest nomination wins.
            selectedAddress = source
            nominated = true
        } else if selectedAddress == nil {
            selectedAddress = source
        }
        state = .connected
    }

    private func errorResponse(
        _ request: STUNMessage, _ code: Int, _ reason: String, authenticated: Bool,
        extra: [STUNAttribute] = []
    ) -> [UInt8] {
        let response = STUNMessage(
            messageClass: .errorResponse, method: request.method, transactionID: request.transactionID,
            attributes: [.errorCode(code: code, reason: reason)] + extra)
        // RFC 8489 §9.1.3: 400 and 401 go out without MESSAGE-INTEGRITY, the peer's
        // credentials being unknown or wrong; other errors to an authenticated request carry it.
        return response.encode(integrityKey: authenticated ? localKey : nil, fingerprint: true)
    }
}
