// Lets browser pages on other origins read `Location` of a WHIP/WHEP 201 (RFC 9725 §4.8):
// CORS requires Access-Control-Expose-Headers on the actual response, and Hummingbird's
// CORSMiddleware sends it on preflights only (seen with Chromium: `Location` read as null).

import Hummingbird

struct ExposeHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    let headers: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        if request.headers.contains(.origin), request.method != .options {
            response.headers[.accessControlExposeHeaders] = headers
        }
        return response
    }
}
