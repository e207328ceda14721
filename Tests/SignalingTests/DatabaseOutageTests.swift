// The call database not there yet, or gone while serving: every store operation fails within
// its deadline (never a hang), the call API and the realtime channel say `unavailable` (503),
// /healthz names the database as what is not ready, and all of it answers again once the
// database is there. The PostgreSQL cases need no server: a port that refuses connections and
// one that accepts them and never answers stand for a database that is down or frozen.

import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import SFU
import SignalingTestSupport
import Testing
@testable import Signaling
import SocketIO
import Auth

#if canImport(Glibc)
import Glibc
#endif

/// A TCP socket on 127.0.0.1 that never answers: listening, the kernel completes connections
/// and takes what is sent (a frozen database); not listening, connections are refused (a
/// stopped one). The port stays reserved while this lives.
final class MuteDatabasePort {
    let port: Int
    private let descriptor: Int32

    init(listening: Bool) throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(descriptor, socketAddress, length) == 0 && getsockname(descriptor, socketAddress, &length) == 0
            }
        }
        guard descriptor >= 0, bound, !listening || listen(descriptor, 64) == 0 else {
            if descriptor >= 0 { close(descriptor) }
            throw TimedOut(description: "could not set up a socket on 127.0.0.1: errno \(errno)")
        }
        self.descriptor = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    var url: String { "postgres://chorus:secret@127.0.0.1:\(port)/chorus?sslmode=disable" }

    deinit { close(descriptor) }
}

/// A PostgreSQL store on `database`'s port with short deadlines, its pool running during `body`.
private func withUnreachableStore<T: Sendable>(
    _ database: MuteDatabasePort, _ body: @Sendable (PostgresCallStore) async throws -> T
) async throws -> T {
    let store = try PostgresCallStore(
        url: database.url, timeouts: PostgresCallStore.Timeouts(connect: .seconds(1), operation: .milliseconds(500)),
        logger: quietLogger("test.postgres"))
    return try await withThrowingTaskGroup(of: Void.self, returning: T.self) { group in
        group.addTask { await store.run() }
        await store.untilRunning()
        defer { group.cancelAll() }
        return try await body(store)
    }
}

/// The HTTP API over `store` (Hummingbird's in-process client), the media workers running.
private func withAPI(
    _ store: any CallStore, _ body: @escaping @Sendable (any TestClientProtocol, CallService, String) async throws -> Void
) async throws {
    let media = try MediaServer(
        configuration: MediaServerConfiguration(host: "127.0.0.1", udpPort: 0, announcedIP: "127.0.0.1"),
        logger: quietLogger("test.media"))
    media.start()
    defer { media.shutdown() }
    let authority = TokenAuthority(secret: "test-secret-that-is-long-enough-for-hs256")
    let token = try authority.makeToken(identity: "@alice:x", room: "*", publish: false, subscribe: false, admin: false, ttl: 600)
    let service = CallService(store: store, logger: quietLogger("test.calls"))
    let app = Application(router: ChorusServer.makeRouter(media: media, authority: authority, calls: service))
    try await app.test(.router) { client in try await body(client, service, token) }
}

extension TestClientProtocol {
    /// Status and JSON body of a request with `token`.
    fileprivate func fetch(
        _ method: HTTPRequest.Method, _ uri: String, token: String? = nil, body: String? = nil
    ) async throws -> (HTTPResponse.Status, JSONValue) {
        var headers = HTTPFields()
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) {
            ($0.status, JSONValue.parse(Array($0.body.readableBytesView)) ?? .null)
        }
    }
}

private let newCall = #"{"roomId": "!room:x", "callType": "voice", "invitees": ["@bob:x"]}"#

/// /healthz says the database is `state` (503), and creating a call answers 503 `unavailable`;
/// returns that error's message.
private func expectDatabaseNotReady(_ client: any TestClientProtocol, token: String, _ state: String) async throws -> String? {
    let (health, report) = try await client.fetch(.get, "/healthz")
    #expect(health == .serviceUnavailable)
    #expect(report["status"]?.stringValue == state)
    #expect(report["database"]?.stringValue == state)
    let (status, body) = try await client.fetch(.post, "/api/calls/initiate", token: token, body: newCall)
    #expect(status == .serviceUnavailable)
    #expect(body["error"]?["code"]?.stringValue == "unavailable")
    return body["error"]?["message"]?.stringValue
}

@Suite struct DatabaseOutageTests {
    @Test func aDeadlinePassesResultsAndErrorsThrough() async throws {
        #expect(try await withDeadline(.seconds(60)) { 42 } == 42)
        await #expect(throws: CallStoreError.notFound) {
            try await withDeadline(.seconds(60)) { throw CallStoreError.notFound }
        }
    }

    @Test func aDeadlineDoesNotWaitForAnOperationThatIgnoresIt() async throws {
        // Five seconds that no cancellation shortens, like a query to a frozen server.
        let stubborn: @Sendable () async throws -> Int = {
            await withCheckedContinuation { continuation in
                DispatchQueue.global().asyncAfter(deadline: .now() + 5) { continuation.resume(returning: 1) }
            }
        }
        await #expect(throws: DeadlineExceeded(limit: .milliseconds(100))) {
            try await withDeadline(.milliseconds(100), stubborn)
        }
        // A cancelled caller is let go at once, too.
        let caller = Task { try await withDeadline(.seconds(3600), stubborn) }
        caller.cancel()
        await #expect(throws: CancellationError.self) { try await caller.value }
    }

    @Test(.timeLimit(.minutes(1)), arguments: [false, true])
    func everyStoreOperationGivesUpOnADatabaseThatDoesNotAnswer(listening: Bool) async throws {
        let database = try MuteDatabasePort(listening: listening)
        try await withUnreachableStore(database) { store in
            await #expect(throws: DeadlineExceeded.self) { _ = try await store.call("c1") }
            await #expect(throws: DeadlineExceeded.self) { try await store.ping() }
            await #expect(throws: DeadlineExceeded.self) {
                _ = try await store.active(answeredBefore: Date())
            }
            let service = CallService(store: store, logger: quietLogger("test.calls"))
            do throws(CallError) {
                _ = try await service.initiate(InitiateCall(roomId: "!r:x", callType: .voice, invitees: ["@bob:x"]), by: "@alice:x")
                Issue.record("a call was created without a database")
            } catch {
                #expect(error.kind == .unavailable)
                #expect(error.code == "unavailable")
            }
            // Background sweeps log and go on.
            #expect(await service.expireRingingCalls().isEmpty)
            await #expect(throws: DeadlineExceeded.self) { try await service.endCallsLeftByRestart(startedAt: Date()) }
            // A realtime client gets an `error` event, not silence.
            let client = RecordingClient("@alice:x")
            try await service.connected(client)
            let reply = await service.received(RealtimeEvent("join-call", .object(["callId": .string("c1")])), from: client)
            #expect(reply?.event == "error")
            #expect(reply?.data["code"]?.stringValue == "unavailable")
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func healthAndCallAPISay503WhileTheDatabaseIsGone() async throws {
        let database = try MuteDatabasePort(listening: true)
        try await withUnreachableStore(database) { store in
            try await withAPI(store) { client, _, token in
                _ = try await expectDatabaseNotReady(client, token: token, "unavailable")
                #expect(try await client.fetch(.get, "/api/calls/active", token: token).0 == .serviceUnavailable)
                // What needs no database still answers.
                #expect(try await client.fetch(.get, "/api/ice-servers", token: token).0 == .ok)
            }
        }
    }

    @Test func theCallAPIAnswers503UntilTheStoreIsOpen() async throws {
        let database = try TemporaryDatabase()
        let deferred = DeferredCallStore()
        try await withAPI(deferred) { client, service, token in
            let message = try await expectDatabaseNotReady(client, token: token, "starting")
            #expect(message?.contains("starting") == true)
            // Bad input is still bad input, told at once.
            #expect(try await client.fetch(.post, "/api/calls/initiate", token: token, body: "{").0 == .badRequest)

            let store = try await database.open()
            deferred.open(store)
            try await service.store.untilOpen()
            let (ready, readyReport) = try await client.fetch(.get, "/healthz")
            #expect(ready == .ok)
            #expect(readyReport == .object(["status": .string("ok"), "database": .string("ok")]))
            #expect(try await client.fetch(.post, "/api/calls/initiate", token: token, body: newCall).0 == .created)
            try await store.close()
        }
    }
}
