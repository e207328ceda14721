// The controlling side of ICE for one candidate pair, which is all a client of an ICE-lite
// server needs (RFC 8445 §2.5): Binding requests with aggressive nomination, their responses
// checked, and consent kept fresh by repeating them (RFC 7675).

import ICE

struct ClientConnectivityChecks {
    enum Response: Equatable {
        /// A success response to one of our checks; `first` for the one that connects ICE.
        case success(first: Bool, mapped: TransportAddress?)
        /// An authenticated error response (487 role conflict and the like).
        case error(code: Int)
        case ignored(String)
    }

    /// RFC 8445 §5.1.2.1 for a host candidate: type preference 126, local preference 65535,
    /// component 1 (so 256 - 1).
    static let hostPriority: UInt32 = 126 << 24 | 65535 << 8 | 255

    /// A response to a check older than this is no longer waited for; bounds `pending`.
    static let maxPending = 32

    private let username: String
    private let remotePassword: String
    private let remoteKey: [UInt8]
    /// RFC 8445 §7.3.1.1: a random tie-breaker, compared only on a role conflict.
    private let tieBreaker = UInt64.random(in: 0...UInt64.max)
    private let configuration: ClientTransportConfiguration
    private let startedAt: ContinuousClock.Instant

    private(set) var hasSucceeded = false
    private(set) var nextCheck: ContinuousClock.Instant
    private var lastSuccess: ContinuousClock.Instant?
    private var pending: [STUNTransactionID: ContinuousClock.Instant] = [:]

    init(local: ICECredentials, remote: ICECredentials, configuration: ClientTransportConfiguration, now: ContinuousClock.Instant) {
        // RFC 8445 §7.2.2: USERNAME is "their ufrag:our ufrag", keyed with their password.
        username = remote.ufrag + ":" + local.ufrag
        remotePassword = remote.pwd
        remoteKey = Array(remote.pwd.utf8)
        self.configuration = configuration
        startedAt = now
        nextCheck = now
    }

    /// A check to send now, if one is due: every `checkInterval` until the first success,
    /// then every `consentInterval`.
    mutating func checkIfDue(now: ContinuousClock.Instant) -> [UInt8]? {
        guard now >= nextCheck else { return nil }
        nextCheck = now + (hasSucceeded ? configuration.consentInterval : configuration.checkInterval)
        if pending.count >= Self.maxPending, let oldest = pending.min(by: { $0.value < $1.value }) {
            pending[oldest.key] = nil
        }
        let (id, bytes) = STUNMessage.bindingRequest(
            username: username, password: remotePassword,
            priority: Self.hostPriority, tieBreaker: tieBreaker, useCandidate: true)
        pending[id] = now
        return bytes
    }

    /// A STUN message from the remote candidate. Only responses to our own pending checks that
    /// carry a valid MESSAGE-INTEGRITY (keyed with the remote password) count.
    mutating func handle(_ bytes: UnsafeRawBufferPointer, now: ContinuousClock.Instant) -> Response {
        let message: STUNMessage
        do {
            message = try STUNMessage(parsing: bytes)
        } catch {
            return .ignored("malformed STUN: \(error)")
        }
        guard message.method == .binding else { return .ignored("not Binding") }
        guard message.messageClass == .successResponse || message.messageClass == .errorResponse else {
            // An ICE-lite peer sends no requests (RFC 8445 §2.5); indications need no answer.
            return .ignored("not a response")
        }
        guard pending[message.transactionID] != nil else { return .ignored("unknown transaction") }
        guard message.messageIntegrity != nil, STUNMessage.verifyMessageIntegrity(bytes, key: remoteKey) else {
            // RFC 8489 §9.1.3: 400/401 come without integrity and may be forged; not acted on.
            return .ignored("response without valid MESSAGE-INTEGRITY")
        }
        pending[message.transactionID] = nil
        if message.messageClass == .errorResponse {
            return .error(code: message.errorCode?.code ?? 0)
        }
        let first = !hasSucceeded
        hasSucceeded = true
        lastSuccess = now
        if first { nextCheck = now + configuration.consentInterval }
        return .success(first: first, mapped: message.xorMappedAddress)
    }

    /// Why ICE failed by `now`: no success within `consentTimeout` of the start, or since the
    /// last success (RFC 7675 §5.1); nil while fine.
    func failure(now: ContinuousClock.Instant) -> String? {
        if let lastSuccess {
            return now >= lastSuccess + configuration.consentTimeout ? "consent expired" : nil
        }
        return now >= startedAt + configuration.consentTimeout ? "no ICE success response" : nil
    }

    /// The next check or the expiry, whichever comes first.
    var deadline: ContinuousClock.Instant {
        min(nextCheck, (lastSuccess ?? startedAt) + configuration.consentTimeout)
    }
}
