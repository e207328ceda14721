// Errors as the API returns them: an HTTP status and `{"error": {"code", "message"}}`.

import Hummingbird
import SFU

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

public struct APIError: Error, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    /// Seconds for a `Retry-After` header (429, 503).
    public var retryAfter: Int?

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    init(_ exceeded: LimitExceeded) {
        self.init(.tooManyRequests, exceeded.code, exceeded.message)
        retryAfter = exceeded.retryAfter
    }

    static func unauthorized(_ message: String) -> APIError { APIError(.unauthorized, "unauthorized", message) }
    static func forbidden(_ message: String) -> APIError { APIError(.forbidden, "forbidden", message) }
    static func notFound(_ message: String) -> APIError { APIError(.notFound, "not_found", message) }
    static func badRequest(_ code: String, _ message: String) -> APIError { APIError(.badRequest, code, message) }

    var response: Response {
        struct Body: Encodable {
            struct Detail: Encodable {
                var code: String
                var message: String
            }
            var error: Detail
        }
        let data = (try? JSONEncoder().encode(Body(error: .init(code: code, message: message)))) ?? Data()
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}

extension MediaServerError {
    var apiError: APIError {
        switch self {
        case .roomNotFound: .notFound("no such room")
        case .participantNotFound: .notFound("no such participant in this room")
        case .subscriptionNotFound: .notFound("no such subscription")
        case .participantExists: APIError(.conflict, "conflict", "participant already exists")
        case .muteLockedByAdmin: .forbidden("muted by a moderator; only a moderator can unmute")
        case .nothingToSubscribe:
            .badRequest("no_matching_tracks", "the participant publishes no track that the offer can receive")
        case .tooManyTransports:
            APIError(LimitExceeded("server_full", "this media worker holds as many connections as it may; try again later", retryAfter: 30))
        case .failed(let reason): APIError(.internalServerError, "internal", reason)
        }
    }
}
