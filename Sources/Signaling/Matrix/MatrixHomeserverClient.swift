// The homeserver's client-server API over HTTP (AsyncHTTPClient, already built for the tests
// through HummingbirdTesting): whoami for access tokens, room members, sending events as the
// application service. Every request is bounded: 2 s to connect, and `requestTimeout` for the
// whole exchange, body included (withDeadline), so a homeserver that hangs costs a caller at
// most that, and the caller gets a 503. No redirects are followed; bodies over 1 MiB are refused.

import AsyncHTTPClient
import Auth
import Logging
import NIOCore
import NIOHTTP1
import SocketIO

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

public final class MatrixHomeserverClient: MatrixHomeserver {
    public static let defaultRequestTimeout: Duration = .seconds(5)
    static let maximumBodyBytes = 1 << 20

    /// The client-server API base, without a trailing slash ("http://127.0.0.1:8008").
    public let baseURL: String
    private let asToken: String
    private let requestTimeout: Duration
    private let http: HTTPClient
    private let logger: Logger

    public init(baseURL: String, asToken: String, requestTimeout: Duration = defaultRequestTimeout, logger: Logger) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.asToken = asToken
        self.requestTimeout = requestTimeout
        self.logger = logger
        let seconds = Int64(requestTimeout.components.seconds) + 1
        self.http = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: HTTPClient.Configuration(
                redirectConfiguration: .disallow,
                timeout: .init(connect: .seconds(2), read: .seconds(seconds))))
    }

    /// Closes pooled connections; call once, when the server stops.
    public func shutdown() async {
        try? await http.shutdown()
    }

    // MARK: MatrixIdentityProvider

    public func whoami(accessToken: String) async -> MatrixWhoAmI {
        do {
            let body = try await request(.GET, "/_matrix/client/v3/account/whoami", bearer: accessToken)
            guard let user = body["user_id"]?.stringValue, user.hasPrefix("@") else {
                return .unavailable("whoami answered without a user_id")
            }
            return .user(user)
        } catch {
            switch error {
            case .refused(let status, _, _) where status == 401 || status == 403: return .unknownToken
            case .refused(let status, let errcode, let message): return .unavailable("whoami: \(status) \(errcode) \(message)")
            case .unavailable(let reason): return .unavailable(reason)
            }
        }
    }

    // MARK: MatrixHomeserver

    public func members(of room: String, as user: String) async throws(MatrixRequestError) -> [MatrixMember] {
        let body = try await request(.GET, "/_matrix/client/v3/rooms/\(Self.segment(room))/members", query: [("user_id", user)])
        guard case .array(let chunk)? = body["chunk"] else { throw .unavailable("members answered without a chunk") }
        return chunk.compactMap { event in
            guard let user = event["state_key"]?.stringValue, let membership = event["content"]?["membership"]?.stringValue else { return nil }
            return MatrixMember(user: user, membership: membership)
        }
    }

    public func joinedMembers(of room: String) async throws(MatrixRequestError) -> [String] {
        let body = try await request(.GET, "/_matrix/client/v3/rooms/\(Self.segment(room))/joined_members")
        guard case .object(let joined)? = body["joined"] else { throw .unavailable("joined_members answered without joined") }
        return joined.keys.sorted()
    }

    public func send(_ type: String, content: JSONValue, room: String, as user: String, transactionID: String) async throws(MatrixRequestError) -> String {
        let path = "/_matrix/client/v3/rooms/\(Self.segment(room))/send/\(Self.segment(type))/\(Self.segment(transactionID))"
        let body = try await request(.PUT, path, query: [("user_id", user)], body: content)
        return body["event_id"]?.stringValue ?? ""
    }

    // MARK: HTTP

    /// One request as the application service (or with `bearer`), its JSON answer on a 2xx.
    private func request(
        _ method: HTTPMethod, _ path: String, query: [(String, String)] = [], bearer: String? = nil, body: JSONValue? = nil
    ) async throws(MatrixRequestError) -> JSONValue {
        var url = baseURL + path
        if !query.isEmpty {
            url += "?" + query.map { "\(Self.segment($0.0))=\(Self.segment($0.1))" }.joined(separator: "&")
        }
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(bearer ?? asToken)")
        request.headers.add(name: "Accept", value: "application/json")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body.jsonText))
        }
        let http = self.http
        let timeout = requestTimeout
        let prepared = request
        let outcome: (status: Int, body: ByteBuffer)
        do {
            outcome = try await withDeadline(timeout) {
                let response = try await http.execute(prepared, timeout: .seconds(Int64(timeout.components.seconds) + 1))
                return (Int(response.status.code), try await response.body.collect(upTo: Self.maximumBodyBytes))
            }
        } catch let error as DeadlineExceeded {
            throw .unavailable("\(method) \(path): no answer within \(error.limit)")
        } catch {
            throw .unavailable("\(method) \(path): \(error)")
        }
        let json = JSONValue.parse(outcome.body.readableBytesView)
        switch outcome.status {
        case 200..<300:
            guard let json, case .object = json else { throw .unavailable("\(method) \(path): the answer is not a JSON object") }
            return json
        case 429, 500...:
            throw .unavailable("\(method) \(path): \(outcome.status) \(json?["errcode"]?.stringValue ?? "")")
        default:
            throw .refused(
                status: outcome.status, errcode: json?["errcode"]?.stringValue ?? "M_UNKNOWN",
                message: json?["error"]?.stringValue ?? "")
        }
    }

    /// Percent-encodes a path segment or query value: room ids (`!a:b`), user ids (`@a:b`) and
    /// event types keep only RFC 3986's unreserved characters as they are.
    static func segment(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let digits = Array("0123456789ABCDEF")
                out += "%" + String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 0xF)])
            }
        }
        return out
    }
}
