// The web client people use (Web/: index.html, style.css and ES modules from the entry app.js,
// no build step) at `/`, and the two small endpoints it needs before it has a token:
// GET /api/config and, on a development server only, POST /api/dev/token.

import Foundation  // Bundle: resources are not in FoundationEssentials
import Hummingbird
import Auth
import SocketIO

struct WebClientRoutes: Sendable {
    let authority: TokenAuthority
    /// True when the server runs on the published development secret (loopback only): anyone
    /// could mint tokens anyway, so the page may ask the server to do it for a chosen name.
    let devTokens: Bool
    /// The Matrix homeserver whose access tokens Chorus accepts (the page may sign in there).
    var matrixHomeserver: String? = nil

    /// The files, by URL path, with their media types. A fixed list: nothing else on disk is served.
    static let files: [(path: String, name: String, type: String)] = [
        ("/", "index.html", "text/html; charset=utf-8"),
        ("/index.html", "index.html", "text/html; charset=utf-8"),
        ("/app.js", "app.js", "text/javascript; charset=utf-8"),
        ("/client.js", "client.js", "text/javascript; charset=utf-8"),
        ("/api.js", "api.js", "text/javascript; charset=utf-8"),
        ("/realtime.js", "realtime.js", "text/javascript; charset=utf-8"),
        ("/call.js", "call.js", "text/javascript; charset=utf-8"),
        ("/group-call.js", "group-call.js", "text/javascript; charset=utf-8"),
        ("/simulcast.js", "simulcast.js", "text/javascript; charset=utf-8"),
        ("/direct-call.js", "direct-call.js", "text/javascript; charset=utf-8"),
        ("/ui.js", "ui.js", "text/javascript; charset=utf-8"),
        ("/matrix.js", "matrix.js", "text/javascript; charset=utf-8"),
        ("/style.css", "style.css", "text/css; charset=utf-8"),
    ]

    /// `CHORUS_WEB_ROOT` (to work on the page without rebuilding), else the bundled folder.
    static let root: URL? = {
        if let path = ProcessInfo.processInfo.environment["CHORUS_WEB_ROOT"], !path.isEmpty {
            return URL(fileURLWithPath: path, isDirectory: true)
        }
        return Bundle.module.url(forResource: "Web", withExtension: nil)
    }()

    func register(on router: Router<some RequestContext>) {
        for file in Self.files {
            router.get(RouterPath(file.path)) { _, _ -> Response in
                guard let root = Self.root,
                    let data = FileManager.default.contents(atPath: root.appendingPathComponent(file.name).path)
                else {
                    throw APIError(.internalServerError, "internal", "the web client is missing from this installation")
                }
                return Response(
                    status: .ok, headers: [.contentType: file.type, .cacheControl: "no-cache"],
                    body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
            }
        }
        let devTokens = self.devTokens
        var config: [String: JSONValue] = ["devTokens": .bool(devTokens)]
        if let matrixHomeserver { config["matrix"] = .object(["homeserver": .string(matrixHomeserver)]) }
        router.get("api/config") { [config] _, _ -> Response in
            CallRoutes.respond(.object(config))
        }
        let authority = self.authority
        router.post("api/dev/token") { request, context -> Response in
            guard devTokens else {
                throw APIError.notFound("development tokens are only minted by a server on the development secret")
            }
            let sameOrigin = try Self.checkDevTokenRequest(host: request.head.authority, origin: request.headers[.origin])
            let body = try await CallRoutes.readJSON(request)
            let (name, admin) = try Self.devTokenRequest(body)
            // The admin grant moderates every room: only the page served here may ask for it.
            let token = try authority.makeToken(
                identity: name, room: "*", publish: true, subscribe: true, admin: admin && sameOrigin, ttl: 12 * 3600)
            return CallRoutes.respond(.object(["token": .string(token), "user": .string(name)]), status: .created)
        }
    }

    /// Keeps other web pages from minting tokens through a visitor's browser. A page elsewhere
    /// sends its own `Origin`; a DNS-rebinding page (a hostile name resolved to 127.0.0.1) is
    /// on our origin as the browser sees it, but its requests carry the hostile name in
    /// `Host`. So: `Host` must name the loopback interface, and an `Origin`, when sent, must be
    /// this very server. Returns whether the request came from our own page (an `Origin` equal
    /// to `http://<Host>`); tools such as curl send none and get tokens without the admin grant.
    /// (HTTP/1's `Host` arrives as the request's authority.)
    static func checkDevTokenRequest(host: String?, origin: String?) throws -> Bool {
        guard let host, isLoopback(host: host) else {
            throw APIError(.forbidden, "forbidden_host", "development tokens are minted only to requests for a loopback host")
        }
        guard let origin else { return false }
        guard origin.lowercased() == "http://\(host.lowercased())" else {
            throw APIError(.forbidden, "forbidden_origin", "development tokens are minted only to this server's own page")
        }
        return true
    }

    /// `127.0.0.1:8080`, `localhost`, `[::1]:8080`: the host part of a Host header names loopback.
    static func isLoopback(host header: String) -> Bool {
        var name = Substring(header.lowercased())
        if name.hasPrefix("[") {
            guard let close = name.firstIndex(of: "]") else { return false }
            let rest = name[name.index(after: close)...]
            guard rest.isEmpty || (rest.hasPrefix(":") && rest.dropFirst().allSatisfy(\.isNumber)) else { return false }
            return name[name.index(after: name.startIndex)..<close] == "::1"
        }
        if let colon = name.lastIndex(of: ":") {
            guard name[name.index(after: colon)...].allSatisfy(\.isNumber) else { return false }
            name = name[..<colon]
        }
        if name == "localhost" { return true }
        let octets = name.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }

    /// `{"name", "admin"?}`.
    private static func devTokenRequest(_ body: JSONValue) throws -> (name: String, admin: Bool) {
        do throws(CallError) {
            let fields = try CallFields(body)
            let name = try fields.identifier("name")
            guard fields["admin"] != nil else { return (name, false) }
            return (name, try fields.bool("admin"))
        } catch {
            throw CallRoutes.apiError(error)
        }
    }
}
