// Keeps OpenAPI/openapi.yaml true to the router: the document lists exactly the routes
// ChorusServer.makeRouter registers (Hummingbird's `Router.routes`), and every operation, driven
// in process with and without a token, answers a status the document lists for it.
// Schemas are checked against a running server by tests/integration/test_openapi.py.

import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import SFU
import SignalingTestSupport
import Testing
@testable import Signaling
@testable import Auth
@testable import SocketIO

/// The operations of an OpenAPI document's `paths:` section, read line by line (no YAML library
/// is a dependency). It relies on the document's block layout: paths at 2 spaces, methods at 4,
/// `responses:` at 6, status codes at 8; anything else under `paths:` at those depths is an error,
/// so a layout change fails loudly instead of hiding operations.
struct OpenAPIOperations {
    struct Operation: Hashable, CustomStringConvertible {
        var method: String
        var path: String
        var statuses: Set<Int> = []
        /// `security: []` (or `- {}`) on the operation: no token needed.
        var anonymous = false

        var key: String { "\(method) \(OpenAPIOperations.normalized(path))" }
        var description: String { key }
    }

    struct LayoutError: Error, CustomStringConvertible {
        var line: Int
        var text: String
        var description: String { "openapi.yaml line \(line): unexpected under paths: \(text)" }
    }

    static let methods: Set<String> = ["get", "put", "post", "delete", "patch", "head", "options", "trace"]

    var operations: [Operation] = []

    init(yaml: String) throws {
        var inPaths = false
        var path: String?
        var inOperation = false
        var inResponses = false
        var inSecurity = false
        for (index, raw) in yaml.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = String(raw)
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let indent = line.prefix { $0 == " " }.count
            if indent == 0 {
                inPaths = trimmed == "paths:"
                continue
            }
            guard inPaths else { continue }
            switch indent {
            case 2:
                guard trimmed.hasPrefix("/"), trimmed.hasSuffix(":") else { throw LayoutError(line: index + 1, text: line) }
                path = String(trimmed.dropLast())
                inOperation = false
            case 4:
                guard let path, trimmed.hasSuffix(":") else { throw LayoutError(line: index + 1, text: line) }
                let key = String(trimmed.dropLast())
                inOperation = Self.methods.contains(key)
                if inOperation {
                    operations.append(Operation(method: key.uppercased(), path: path))
                } else if key != "parameters" && key != "summary" && key != "description" {
                    throw LayoutError(line: index + 1, text: line)
                }
                inResponses = false
                inSecurity = false
            case 6:
                guard inOperation else { continue }  // path-level parameters
                inResponses = trimmed == "responses:"
                inSecurity = trimmed.hasPrefix("security:")
                if trimmed == "security: []" { operations[operations.count - 1].anonymous = true }
            case 8 where inResponses:
                guard trimmed.count == 6, trimmed.hasPrefix("'"), trimmed.hasSuffix("':"),
                    let status = Int(trimmed.dropFirst().prefix(3))
                else { throw LayoutError(line: index + 1, text: line) }
                operations[operations.count - 1].statuses.insert(status)
            case 8 where inSecurity:
                if trimmed == "- {}" { operations[operations.count - 1].anonymous = true }
            default:
                continue
            }
        }
    }

    /// Hummingbird matches `/socket.io` and `/socket.io/` alike; the document names the latter.
    static func normalized(_ path: String) -> String {
        path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
    }

    /// Routes in one list and not the other, as "METHOD /path".
    static func differences(spec: [Operation], router: [String]) -> (undocumented: [String], unrouted: [String]) {
        let documented = Set(spec.map(\.key))
        let routed = Set(router)
        return (routed.subtracting(documented).sorted(), documented.subtracting(routed).sorted())
    }
}

extension ServerHarness {
    /// Every route the router registers, as `METHOD /path/{param}`.
    fileprivate var routes: [String] { Self.routes(of: router) }

    fileprivate static func routes(of router: Router<ChorusRequestContext>) -> [String] {
        router.routes.map { "\($0.method.rawValue) \(OpenAPIOperations.normalized($0.path.description))" }
    }
}

private func document() throws -> String {
    try #require(OpenAPIRoute.document, "OpenAPI/openapi.yaml is missing from the Signaling resources")
}

@Suite(.serialized) struct OpenAPIDocumentTests {
    @Test func documentListsExactlyTheRouterRoutes() async throws {
        let harness = try await ServerHarness()
        let spec = try OpenAPIOperations(yaml: try document()).operations
        let routes = harness.routes
        #expect(routes.count >= 30, "the router enumerated only \(routes)")
        #expect(Set(spec.map(\.key)).count == spec.count, "an operation is listed twice")
        let (undocumented, unrouted) = OpenAPIOperations.differences(spec: spec, router: routes)
        #expect(undocumented.isEmpty, "routes missing from openapi.yaml: \(undocumented)")
        #expect(unrouted.isEmpty, "openapi.yaml lists operations the router does not have: \(unrouted)")
        try await store(harness)
    }

    /// The comparison above can fail: a route added without a document entry is reported, and
    /// so is a document entry without a route.
    @Test func aRouteWithoutAnEntryIsReported() async throws {
        let harness = try await ServerHarness()
        let router = harness.router
        router.get("api/new-thing/:id") { _, _ in "" }
        var spec = try OpenAPIOperations(yaml: try document()).operations
        spec.append(.init(method: "POST", path: "/api/retired"))
        let (undocumented, unrouted) = OpenAPIOperations.differences(spec: spec, router: ServerHarness.routes(of: router))
        #expect(undocumented.contains("GET /api/new-thing/{id}"))
        #expect(unrouted.contains("POST /api/retired"))
        try await store(harness)
    }

    @Test func everyOperationHasResponsesAndOnlyListedOnesAreAnonymous() throws {
        let spec = try OpenAPIOperations(yaml: try document()).operations
        for operation in spec {
            #expect(!operation.statuses.isEmpty, "\(operation) lists no responses")
        }
        let anonymous = Set(spec.filter(\.anonymous).map(\.key))
        #expect(anonymous == [
            "GET /healthz", "GET /metrics", "GET /openapi.yaml", "PATCH /whip/{room}/{participant}",
            "PATCH /whep/{room}/{participant}/{subscription}", "GET /socket.io", "POST /socket.io",
            "PUT /socket.io", "DELETE /socket.io", "PATCH /socket.io",
            "GET /", "GET /index.html", "GET /app.js", "GET /client.js", "GET /api.js", "GET /realtime.js", "GET /call.js",
            "GET /group-call.js", "GET /simulcast.js", "GET /direct-call.js", "GET /ui.js", "GET /matrix.js", "GET /style.css",
            "GET /api/config", "POST /api/dev/token",
        ])
    }

    @Test func readerRefusesAnotherLayout() {
        let flow = "openapi: 3.1.0\npaths:\n  /a: {get: {responses: {'200': {description: ok}}}}\n"
        #expect(throws: OpenAPIOperations.LayoutError.self) { try OpenAPIOperations(yaml: flow) }
        let unquoted = "paths:\n  /a:\n    get:\n      responses:\n        200:\n          description: ok\n"
        #expect(throws: OpenAPIOperations.LayoutError.self) { try OpenAPIOperations(yaml: unquoted) }
        let good = "paths:\n  /a/{id}:\n    parameters:\n      - name: id\n    get:\n      security: []\n      responses:\n        '200':\n          description: ok\n        '404':\n          description: no\n    post:\n      responses:\n        '201':\n          description: made\ncomponents:\n  x:\n    get:\n"
        let operations = (try? OpenAPIOperations(yaml: good))?.operations ?? []
        #expect(operations == [
            .init(method: "GET", path: "/a/{id}", statuses: [200, 404], anonymous: true),
            .init(method: "POST", path: "/a/{id}", statuses: [201]),
        ])
    }

    /// Each operation, without a token and with an admin token for every room (but no body and
    /// placeholder path parameters), answers a status its entry lists; errors are the API's JSON
    /// shape (Engine.IO's own shape at /socket.io/, Matrix's at /_matrix/).
    @Test func everyOperationAnswersADocumentedStatus() async throws {
        let harness = try await ServerHarness()
        let spec = try OpenAPIOperations(yaml: try document()).operations
        let token = try harness.authority.makeToken(
            identity: "@openapi:example.org", room: "*", publish: true, subscribe: true, admin: true, ttl: 600)
        try await harness.run { client in
            for operation in spec {
                let uri = operation.path.replacingOccurrences(of: #"\{[^}]+\}"#, with: "x", options: .regularExpression)
                for bearer in [nil, token] {
                    var headers = HTTPFields()
                    if let bearer { headers[.authorization] = "Bearer \(bearer)" }
                    let method = HTTPRequest.Method(rawValue: operation.method)!
                    try await client.execute(uri: uri, method: method, headers: headers) { response in
                        let status = Int(response.status.code)
                        let who = bearer == nil ? "without a token" : "with a token"
                        #expect(operation.statuses.contains(status), "\(operation) \(who) answered \(status), not in \(operation.statuses.sorted())")
                        if bearer == nil, !operation.anonymous {
                            #expect(status == 401 || status == 405, "\(operation) without a token answered \(status)")
                        }
                        if status >= 400 {
                            let json = JSONValue.parse(Array(response.body.readableBytesView))
                            if operation.path.hasPrefix("/socket.io") {
                                #expect(json?["code"]?.doubleValue != nil, "\(operation): \(String(buffer: response.body))")
                            } else if operation.path.hasPrefix("/_matrix/") {
                                // The homeserver's routes answer in Matrix's format.
                                #expect(json?["errcode"]?.stringValue != nil && json?["error"]?.stringValue != nil,
                                        "\(operation) \(who): \(String(buffer: response.body))")
                            } else {
                                #expect(json?["error"]?["code"]?.stringValue != nil && json?["error"]?["message"]?.stringValue != nil,
                                        "\(operation) \(who): \(String(buffer: response.body))")
                            }
                        }
                    }
                }
            }
        }
    }

    @Test func documentIsServedAsYAML() async throws {
        let harness = try await ServerHarness()
        let text = try document()
        #expect(text.hasPrefix("#") && text.contains("\nopenapi: 3.1.0\n"))
        try await harness.run { client in
            try await client.execute(uri: "/openapi.yaml", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/yaml")
                #expect(String(buffer: response.body) == text)
            }
        }
    }

    private func store(_ harness: ServerHarness) async throws {
        try await harness.store.close()
    }
}
