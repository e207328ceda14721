// Serves the API's own description, OpenAPI/openapi.yaml (a resource of this target), at
// GET /openapi.yaml, so that clients and tools read the contract from the server they talk to.

import Foundation  // Bundle: resources are not in FoundationEssentials
import Hummingbird

struct OpenAPIRoute: Sendable {
    /// The document's text, read once; nil when an installation lacks the resource bundle.
    static let document: String? = {
        guard let folder = Bundle.module.url(forResource: "OpenAPI", withExtension: nil) else { return nil }
        return try? String(contentsOf: folder.appendingPathComponent("openapi.yaml"), encoding: .utf8)
    }()

    func register(on router: Router<some RequestContext>) {
        router.get("openapi.yaml") { _, _ -> Response in
            guard let text = Self.document else {
                throw APIError(.internalServerError, "internal", "the OpenAPI document is missing from this installation")
            }
            // RFC 9512 registers application/yaml.
            return Response(
                status: .ok, headers: [.contentType: "application/yaml"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
        }
    }
}
