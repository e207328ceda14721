// Why a call operation was refused, in terms both transports can show: REST turns the kind into
// an HTTP status, the realtime transports into an `error` event with the same code and message.

import SocketIO

public struct CallError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Bad input (400).
        case invalid
        /// No such call (404).
        case notFound
        /// The caller is not a participant, or not the one who may do this (403).
        case forbidden
        /// The call is not in a state the operation starts from (409).
        case conflict
        /// The database failed; not the client's fault (503).
        case unavailable
        /// A limit was reached (429); `retryAfter` says when trying again may work.
        case limited
    }

    public var kind: Kind
    public var code: String
    public var message: String
    /// Seconds, for `.limited` (the `Retry-After` header, a `retryAfter` field in realtime).
    public var retryAfter: Int?

    public init(_ kind: Kind, _ code: String, _ message: String) {
        self.kind = kind
        self.code = code
        self.message = message
    }

    public init(_ exceeded: LimitExceeded) {
        self.init(.limited, exceeded.code, exceeded.message)
        retryAfter = exceeded.retryAfter
    }

    public var description: String { "\(code): \(message)" }

    static func missing(_ field: String) -> CallError {
        CallError(.invalid, "missing_field", "'\(field)' is required")
    }

    static func invalid(_ field: String, _ expectation: String) -> CallError {
        CallError(.invalid, "invalid_field", "'\(field)' must be \(expectation)")
    }

    static let notFound = CallError(.notFound, "not_found", "no such call")
    static let notParticipant = CallError(.forbidden, "forbidden", "you are not a participant of this call")

    static func conflict(_ message: String) -> CallError {
        CallError(.conflict, "conflict", message)
    }

    /// A refused transition, saying which status the call is in.
    static func conflict(_ action: String, status: CallStatus) -> CallError {
        CallError(.conflict, "conflict", "cannot \(action) a call that is \(status.rawValue)")
    }
}
