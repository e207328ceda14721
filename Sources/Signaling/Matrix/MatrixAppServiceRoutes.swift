// The Application Service API endpoints the homeserver calls on Chorus (Matrix spec,
// Application Service API v1): transactions of room events, the ping, and the user and room
// alias queries (Chorus provisions neither: 404). They speak Matrix's error format,
// `{"errcode", "error"}`, since the homeserver is their client. Every request must carry the
// registration's `hs_token` (`Authorization: Bearer`, or the older `?access_token=`):
// none is `401 M_UNAUTHORIZED`, a wrong one `403 M_FORBIDDEN`. Registered even without Matrix
// configured (then a token gets `404 M_UNRECOGNIZED`), so that the routes and /openapi.yaml
// always agree.

import Hummingbird
import Logging
import NIOCore
import SocketIO
import Synchronization

struct MatrixAppServiceRoutes: Sendable {
    /// nil when the server runs without Matrix.
    let service: MatrixAppService?
    let calls: CallService?
    /// A transaction holds at most 100 PDUs of at most 64 KiB each (spec limits).
    static let maximumBodyBytes = 8 << 20

    func register(on router: Router<some RequestContext>) {
        router.put("_matrix/app/v1/transactions/:txnId") { request, context -> Response in
            let service = try check(request)
            guard let calls else {
                throw MatrixRefusal(status: .notFound, errcode: "M_UNRECOGNIZED", message: "this Chorus server has no call API")
            }
            let txnId = try pathParameter("txnId", context)
            let body: ByteBuffer
            do {
                body = try await request.body.collect(upTo: Self.maximumBodyBytes)
            } catch {
                return Self.error(.contentTooLarge, "M_TOO_LARGE", "a transaction body is at most \(Self.maximumBodyBytes) bytes")
            }
            guard let json = JSONValue.parse(body.readableBytesView), case .array(let events)? = json["events"] else {
                return Self.error(.badRequest, "M_NOT_JSON", "the body must be a JSON object with an 'events' array")
            }
            switch await service.receive(transaction: txnId, events: events, calls: calls) {
            case .applied, .repeated:
                return Self.ok()
            case .unavailable:
                return Self.error(.serviceUnavailable, "M_UNKNOWN", "the call database is unavailable; send the transaction again")
            }
        }
        router.post("_matrix/app/v1/ping") { request, _ -> Response in
            _ = try check(request)
            return Self.ok()
        }
        router.get("_matrix/app/v1/users/:userId") { request, _ -> Response in
            _ = try check(request)
            return Self.error(.notFound, "M_NOT_FOUND", "Chorus does not provision users")
        }
        router.get("_matrix/app/v1/rooms/:roomAlias") { request, _ -> Response in
            _ = try check(request)
            return Self.error(.notFound, "M_NOT_FOUND", "Chorus does not provision room aliases")
        }
    }

    /// The service, if the request carries its hs_token; else the refusal as the response.
    private func check(_ request: Request) throws -> MatrixAppService {
        var token: String?
        if let header = request.headers[.authorization] {
            let parts = header.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" { token = String(parts[1]) }
        } else if let query = request.uri.queryParameters["access_token"] {
            token = String(query)
        }
        guard let token, !token.isEmpty else {
            throw MatrixRefusal(status: .unauthorized, errcode: "M_UNAUTHORIZED", message: "missing hs_token")
        }
        guard let service else {
            throw MatrixRefusal(status: .notFound, errcode: "M_UNRECOGNIZED", message: "this Chorus server has no Matrix homeserver configured")
        }
        guard service.acceptsHomeserverToken(token) else {
            throw MatrixRefusal(status: .forbidden, errcode: "M_FORBIDDEN", message: "wrong hs_token")
        }
        return service
    }

    static func ok() -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: "{}")))
    }

    static func error(_ status: HTTPResponse.Status, _ errcode: String, _ message: String) -> Response {
        let body = JSONValue.object(["errcode": .string(errcode), "error": .string(message)])
        return Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: body.jsonText)))
    }
}

/// A refusal in Matrix's error format (ErrorMiddleware answers it as such, not as an APIError).
struct MatrixRefusal: Error {
    var status: HTTPResponse.Status
    var errcode: String
    var message: String

    var response: Response { MatrixAppServiceRoutes.error(status, errcode, message) }
}
