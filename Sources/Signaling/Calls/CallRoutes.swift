// The call REST API of the old Node service, same paths and JSON: initiate, answer, reject,
// end, SDP/ICE relay, media toggles, status, active calls, history, ICE servers. The identity is
// the bearer token's `sub`; the token's `room` claim (SFU rooms) is not checked here, so a
// token for any room, or "*", works. Errors are `{"error": {"code", "message"}}`.

import Hummingbird
import NIOCore

import SocketIO

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

struct CallRoutes: Sendable {
    let calls: CallService
    let authorizer: Authorizer
    /// SDP offers are a few kilobytes; anything near this is not a call request.
    static let maximumBodyBytes = 64 * 1024

    func register(on router: Router<some RequestContext>) {
        router.post("api/calls/initiate") { request, context -> Response in
            let user = try await authorizer.claims(of: request).identity
            let body = try await Self.readJSON(request)
            let call = try await run { () async throws(CallError) in
                try await calls.initiate(try InitiateCall(json: body, initiator: user), by: user)
            }
            let data = call.json.merging(["iceServers": .array(calls.iceServers(for: user).map(\.json))])
            var response = Self.respond(data, status: .created)
            // RFC 9110 §15.3.2: a 201 names the resource it created.
            response.headers[.location] = "/api/calls/\(call.callId)/status"
            return response
        }
        router.post("api/calls/:callId/answer") { request, context -> Response in
            let (user, callId) = try await identify(request, context)
            _ = try await Self.readJSON(request, required: false)
            return Self.respond(try await run { () async throws(CallError) in try await calls.answer(callId, by: user) }.json)
        }
        router.post("api/calls/:callId/reject") { request, context -> Response in
            let (user, callId) = try await identify(request, context)
            let reason = try await Self.reason(request)
            return Self.respond(try await run { () async throws(CallError) in
                try await calls.reject(callId, by: user, reason: reason)
            }.json)
        }
        router.post("api/calls/:callId/end") { request, context -> Response in
            let (user, callId) = try await identify(request, context)
            let reason = try await Self.reason(request)
            return Self.respond(try await run { () async throws(CallError) in
                try await calls.end(callId, by: user, reason: reason)
            }.json)
        }
        for (path, kind) in [("offer", RelayKind.offer), ("answer-sdp", .answer), ("ice-candidate", .candidate)] {
            router.post("api/calls/:callId/\(path)") { request, context -> Response in
                let (user, callId) = try await identify(request, context)
                let body = try await Self.readJSON(request)
                let recipients = try await run { () async throws(CallError) in
                    try await calls.relay(try RelayMessage(kind: kind, json: body), callId: callId, from: user)
                }
                return Self.respond(.object([
                    "callId": .string(callId), "relayedTo": .array(recipients.map(JSONValue.string)),
                ]))
            }
        }
        for (path, media) in [("toggle-audio", MediaToggle.audio), ("toggle-video", .video)] {
            router.post("api/calls/:callId/\(path)") { request, context -> Response in
                let (user, callId) = try await identify(request, context)
                let body = try await Self.readJSON(request)
                return Self.respond(try await run { () async throws(CallError) in
                    let enabled = try CallFields(body).bool("enabled")
                    return try await calls.toggle(media, callId: callId, by: user, enabled: enabled)
                }.json)
            }
        }
        router.get("api/calls/active") { request, context -> Response in
            let user = try await authorizer.claims(of: request).identity
            let (limit, before) = try Self.page(request, defaultLimit: ServiceLimits.maximumPageSize)
            let page = try await run { () async throws(CallError) in try await calls.activeCalls(of: user, limit: limit, before: before) }
            return Self.respond(Self.pageJSON(page))
        }
        router.get("api/calls/history") { request, context -> Response in
            let user = try await authorizer.claims(of: request).identity
            let (limit, before) = try Self.page(request, defaultLimit: ServiceLimits.defaultPageSize)
            let page = try await run { () async throws(CallError) in try await calls.history(of: user, limit: limit, before: before) }
            return Self.respond(Self.pageJSON(page))
        }
        router.get("api/calls/:callId/status") { request, context -> Response in
            let (user, callId) = try await identify(request, context)
            return Self.respond(try await run { () async throws(CallError) in try await calls.status(callId, for: user) }.json)
        }
        router.get("api/ice-servers") { request, context -> Response in
            let user = try await authorizer.claims(of: request).identity
            return Self.respond(.object([
                "iceServers": .array(calls.iceServers(for: user).map(\.json)),
                "ttl": .number(Double(calls.configuration.iceServers.turnTTL)),
            ]))
        }
    }

    private func identify(_ request: Request, _ context: some RequestContext) async throws -> (user: String, callId: String) {
        let user = try await authorizer.claims(of: request).identity
        return (user, try pathParameter("callId", context))
    }

    /// Runs a service call, turning its CallError into the HTTP error it stands for.
    private func run<T>(_ body: () async throws(CallError) -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            throw Self.apiError(error)
        }
    }

    static func apiError(_ error: CallError) -> APIError {
        let status: HTTPResponse.Status = switch error.kind {
        case .invalid: .badRequest
        case .notFound: .notFound
        case .forbidden: .forbidden
        case .conflict: .conflict
        case .unavailable: .serviceUnavailable
        case .limited: .tooManyRequests
        }
        var apiError = APIError(status, error.code, error.message)
        apiError.retryAfter = error.retryAfter
        return apiError
    }

    /// The body as JSON: 413 over 64 KiB, 400 when it is not a JSON object. An empty body is
    /// `{}` where the body is optional (answer, reject, end).
    static func readJSON(_ request: Request, required: Bool = true) async throws -> JSONValue {
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: maximumBodyBytes)
        } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, "payload_too_large", "the body is larger than \(maximumBodyBytes) bytes")
        }
        let bytes = body.readableBytesView
        if !required, bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            return .object([:])
        }
        guard let json = JSONValue.parse(bytes), case .object = json else {
            throw APIError.badRequest("bad_json", "the body must be a JSON object")
        }
        return json
    }

    static func reason(_ request: Request) async throws -> String? {
        let body = try await readJSON(request, required: false)
        do {
            return try CallFields(body).reason()
        } catch {
            throw apiError(error)
        }
    }

    /// `{"calls": [...], "nextBefore"?: time}`: one page and where the next one starts.
    static func pageJSON(_ page: (calls: [CallRecord], nextBefore: Date?)) -> JSONValue {
        var data: [String: JSONValue] = ["calls": .array(page.calls.map(\.json))]
        if let next = page.nextBefore { data["nextBefore"] = .string(Timestamp.format(next)) }
        return .object(data)
    }

    /// `limit` (1...100) and `before` (an ISO 8601 time or epoch milliseconds).
    static func page(_ request: Request, defaultLimit: Int) throws -> (limit: Int, before: Date?) {
        let query = request.uri.queryParameters
        let maximum = ServiceLimits.maximumPageSize
        var limit = defaultLimit
        if let text = query["limit"] {
            guard let value = Int(text), (1...maximum).contains(value) else {
                throw APIError.badRequest("invalid_query", "'limit' must be an integer from 1 to \(maximum)")
            }
            limit = value
        }
        var before: Date?
        if let text = query["before"] {
            do {
                before = try Timestamp.parse(text)
            } catch {
                throw APIError.badRequest("invalid_query", "'before' must be an ISO 8601 time such as 2026-01-31T12:00:00.000Z, or epoch milliseconds")
            }
        }
        return (limit, before)
    }

    static func respond(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: value.jsonText)))
    }
}
