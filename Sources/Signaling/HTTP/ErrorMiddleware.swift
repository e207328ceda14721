// Turns every error a route throws into the API's JSON error shape, so that clients never see
// an HTML page or an empty 500 for bad input (Matrix's shape on the routes the homeserver calls).

import Hummingbird
import Logging

struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return error.response
        } catch let error as MatrixRefusal {
            // The application-service routes answer the homeserver in Matrix's own format.
            return error.response
        } catch let error as HTTPError {
            return APIError(error.status, Self.code(for: error.status), error.body ?? error.status.reasonPhrase).response
        } catch let error as any HTTPResponseError {
            return APIError(error.status, Self.code(for: error.status), "\(error.status.reasonPhrase)").response
        } catch {
            context.logger.error("unhandled error: \(error)", metadata: ["path": "\(request.uri.path)"])
            return APIError(.internalServerError, "internal", "internal error").response
        }
    }

    static func code(for status: HTTPResponse.Status) -> String {
        switch status.code {
        case 400: "bad_request"
        case 401: "unauthorized"
        case 403: "forbidden"
        case 404: "not_found"
        case 405: "method_not_allowed"
        case 409: "conflict"
        case 413: "payload_too_large"
        case 415: "unsupported_media_type"
        case 429: "rate_limited"
        default: status.code >= 500 ? "internal" : "error"
        }
    }
}
