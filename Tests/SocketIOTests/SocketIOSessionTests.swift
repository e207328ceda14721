// The Socket.IO v5 layer on its Engine.IO session: CONNECT with auth {token} (and the fallback
// token), CONNECT_ERROR, namespaces, events with and without ack ids, binary refused, DISCONNECT.

import Testing

@testable import SocketIO

@Suite struct SocketIOSessionTests {
    let t0 = ContinuousClock.now
    let configuration = SocketIOConfiguration(connectTimeout: .seconds(45))

    /// Tokens are "good-<user>" here; anything else is refused. (The session asks with an
    /// `.authenticate` output; the shell answers with `authenticated`.)
    static func check(_ token: String) -> Result<RealtimeIdentity, SocketIOAuthFailure> {
        token.hasPrefix("good-") ? .success(RealtimeIdentity(user: String(token.dropFirst(5)))) : .failure(SocketIOAuthFailure("invalid token"))
    }

    private func session(_ transport: EngineIOTransport = .websocket, fallbackToken: String? = nil) -> SocketIOSession {
        var session = SocketIOSession(
            sid: "sid1", socketID: "sock1", transport: transport, configuration: configuration, now: t0,
            fallbackToken: fallbackToken)
        _ = outputs(&session)  // the handshake
        return session
    }

    /// The session's outputs, with token checks answered at once (and left out).
    private func outputs(_ session: inout SocketIOSession) -> [SocketIOSessionOutput] {
        var all: [SocketIOSessionOutput] = []
        while let output = session.pollOutput() {
            if case .authenticate(let token) = output {
                session.authenticated(Self.check(token))
            } else {
                all.append(output)
            }
        }
        return all
    }

    private func send(_ session: inout SocketIOSession, _ text: String) -> [SocketIOSessionOutput] {
        session.receiveWebSocket(.text(text), now: t0 + .seconds(1))
        return outputs(&session)
    }

    private func connected(_ user: String = "alice") -> SocketIOSession {
        var session = session()
        _ = send(&session, #"40{"token":"good-\#(user)"}"#)
        return session
    }

    @Test func connectWithAuthToken() {
        var session = session()
        let out = send(&session, #"40{"token":"good-alice"}"#)
        #expect(out == [.connected(user: "alice"), .writeWebSocket([.message(#"0{"sid":"sock1"}"#)])])
        #expect(session.user == "alice")
        #expect(session.nextDeadline == t0 + .seconds(25))  // the connect timeout is gone
    }

    /// The token check may take a while (a Matrix homeserver): the session waits in
    /// `authenticating`, and the connect timeout still runs.
    @Test func aTokenIsCheckedByTheShellAndTheConnectTimeoutStillRuns() {
        var session = session()
        session.receiveWebSocket(.text(#"40{"token":"slow-token"}"#), now: t0 + .seconds(1))
        var out: [SocketIOSessionOutput] = []
        while let output = session.pollOutput() { out.append(output) }
        #expect(out == [.authenticate(token: "slow-token")])
        #expect(session.socketState == .authenticating)
        // A second CONNECT before the answer is a protocol error, as an event would be.
        var other = session
        other.receiveWebSocket(.text(#"40{"token":"good-x"}"#), now: t0 + .seconds(2))
        #expect(other.isClosed)
        session.authenticated(.success(RealtimeIdentity(user: "slow")))
        #expect(session.user == "slow")
        var late = self.session()
        late.receiveWebSocket(.text(#"40{"token":"slow-token"}"#), now: t0 + .seconds(1))
        while late.pollOutput() != nil {}
        late.handleTimeout(now: t0 + .seconds(46))
        #expect(late.isClosed)
        late.authenticated(.success(RealtimeIdentity(user: "slow")))  // too late: ignored
        #expect(late.user == nil)
    }

    @Test func aBadTokenGetsConnectErrorAndMayRetry() {
        var session = session()
        #expect(send(&session, #"40{"token":"forged"}"#) == [.writeWebSocket([.message(#"4{"message":"invalid token"}"#)])])
        #expect(session.socketState == .awaitingConnect)
        #expect(send(&session, #"40{"token":"good-bob"}"#).first == .connected(user: "bob"))
    }

    @Test func aMissingTokenGetsConnectError() {
        var session = session()
        let out = send(&session, "40")
        guard case .writeWebSocket(let packets) = out.first, case .message(let text)? = packets.first else {
            Issue.record("expected a CONNECT_ERROR, got \(out)")
            return
        }
        #expect(text.hasPrefix(#"4{"message":"missing token"#))
        #expect(send(&session, #"40{"token":42}"#) == [.writeWebSocket([.message(#"4{"message":"auth.token must be a string"}"#)])])
    }

    @Test func theHandshakeRequestTokenIsTheFallback() {
        var session = session(fallbackToken: "good-carol")
        #expect(send(&session, "40").first == .connected(user: "carol"))
        // An explicit auth token wins over the fallback.
        var other = self.session(fallbackToken: "good-carol")
        #expect(send(&other, #"40{"token":"good-dave"}"#).first == .connected(user: "dave"))
    }

    @Test func otherNamespacesAreRefused() {
        var session = session()
        #expect(send(&session, "40/admin,") == [.writeWebSocket([.message(#"4/admin,{"message":"Invalid namespace"}"#)])])
        #expect(!session.isClosed)
    }

    @Test func noConnectWithinTheTimeoutCloses() {
        var session = session()
        #expect(session.nextDeadline == t0 + .seconds(25))
        session.handleTimeout(now: t0 + .seconds(25))
        session.receiveWebSocket(.text("3"), now: t0 + .seconds(26))
        _ = outputs(&session)
        #expect(session.nextDeadline == t0 + .seconds(45))
        session.handleTimeout(now: t0 + .seconds(45))
        #expect(outputs(&session).last == .closed(.server("no CONNECT within connectTimeout")))
    }

    @Test func eventsBecomeRealtimeEvents() {
        var session = connected()
        #expect(send(&session, #"42["join-call",{"callId":"c1"}]"#) == [.event(RealtimeEvent("join-call", .object(["callId": .string("c1")])), ackID: nil)])
        #expect(send(&session, #"427["toggle-audio",{"enabled":true}]"#) == [.event(RealtimeEvent("toggle-audio", .object(["enabled": .bool(true)])), ackID: 7)])
        // No argument: an empty object, as RealtimeEvent defaults.
        #expect(send(&session, #"42["leave-call"]"#) == [.event(RealtimeEvent("leave-call"), ackID: nil)])
    }

    @Test func serverEventsAndAcks() {
        var session = connected()
        session.emit(RealtimeEvent("incoming-call", .object(["callId": .string("c1")])))
        #expect(outputs(&session) == [.writeWebSocket([.message(#"2["incoming-call",{"callId":"c1"}]"#)])])
        session.acknowledge(7, with: [.object(["ok": .bool(true)])])
        #expect(outputs(&session) == [.writeWebSocket([.message(#"37[{"ok":true}]"#)])])
    }

    @Test func acknowledgementsCarryOk() {
        #expect(SocketIOSession.acknowledgement(for: nil) == .object(["ok": .bool(true)]))
        let error = RealtimeEvent("error", .object(["code": .string("not_found"), "message": .string("no such call")]))
        #expect(SocketIOSession.acknowledgement(for: error)
            == .object(["code": .string("not_found"), "message": .string("no such call"), "ok": .bool(false)]))
        #expect(SocketIOSession.acknowledgement(for: RealtimeEvent("joined", .object(["callId": .string("c")])))
            == .object(["callId": .string("c"), "ok": .bool(true)]))
        #expect(SocketIOSession.acknowledgement(for: RealtimeEvent("n", .number(3))) == .number(3))
    }

    @Test func nothingIsEmittedBeforeConnect() {
        var session = session()
        session.emit(RealtimeEvent("incoming-call"))
        session.acknowledge(1, with: [])
        #expect(outputs(&session).isEmpty)
    }

    @Test func eventsBeforeConnectCloseTheSession() {
        var session = session()
        #expect(send(&session, #"42["join-call",{}]"#).last == .closed(.protocolError("socket.io: EVENT for namespace /, which is not connected")))
    }

    @Test func eventsForAnotherNamespaceCloseTheSession() {
        var session = connected()
        #expect(send(&session, #"42/admin,["x"]"#) == [
            .writeWebSocket([.close]), .closeWebSocket, .disconnected,
            .closed(.protocolError("socket.io: EVENT for namespace /admin, which is not connected")),
        ])
    }

    @Test func aSecondConnectClosesTheSession() {
        var session = connected()
        #expect(send(&session, #"40{"token":"good-alice"}"#).last == .closed(.protocolError("socket.io: CONNECT for a namespace already connected")))
    }

    @Test func undecodablePacketsCloseTheSession() {
        var session = connected()
        #expect(send(&session, "4abc") == [
            .writeWebSocket([.close]), .closeWebSocket, .disconnected, .closed(.protocolError("socket.io: unknown packet type 97")),
        ])
    }

    @Test func binaryEventsAreRefusedCleanly() {
        var session = connected()
        let out = send(&session, #"451-["upload",{"_placeholder":true,"num":0}]"#)
        #expect(out == [.writeWebSocket([.message(#"2["error",{"code":"unsupported","message":"binary attachments are not supported"}]"#)])])
        // Its attachment is dropped; the session goes on.
        session.receiveWebSocket(.binary([1, 2, 3]), now: t0 + .seconds(1))
        #expect(outputs(&session).isEmpty)
        #expect(send(&session, #"42["leave-call"]"#) == [.event(RealtimeEvent("leave-call"), ackID: nil)])
    }

    @Test func clientAcksAndErrorsAreIgnored() {
        var session = connected()
        #expect(send(&session, "431[]").isEmpty)
        #expect(send(&session, #"44{"message":"?"}"#).isEmpty)
        #expect(!session.isClosed)
    }

    @Test func disconnectEndsTheSessionOnce() {
        var session = connected()
        #expect(send(&session, "41") == [.disconnected, .closeWebSocket, .closed(.clientClose)])
        session.close(.server("again"))
        #expect(outputs(&session).isEmpty)
    }

    @Test func aTransportCloseDisconnectsAConnectedClient() {
        var session = connected()
        session.webSocketClosed(now: t0 + .seconds(2))
        #expect(outputs(&session) == [.disconnected, .closed(.transportClose)])
        var never = self.session()
        never.webSocketClosed(now: t0 + .seconds(2))
        #expect(outputs(&never) == [.closed(.transportClose)])
    }

    @Test func aWholeExchangeOverPolling() throws {
        var session = session(.polling)
        try session.receivePost(Array(#"40{"token":"good-alice"}"#.utf8), now: t0)
        session.finishPost()
        #expect(outputs(&session) == [.connected(user: "alice")])
        #expect(try session.poll(now: t0) == .answer(#"40{"sid":"sock1"}"#))
        #expect(try session.poll(now: t0) == .hold)
        session.emit(RealtimeEvent("call-answered", .object(["callId": .string("c1")])))
        session.emit(RealtimeEvent("user-joined"))
        #expect(outputs(&session) == [.answerPoll(#"42["call-answered",{"callId":"c1"}]"#)])
        #expect(try session.poll(now: t0) == .answer(#"42["user-joined",{}]"#))
        try session.receivePost(Array("42[\"leave-call\"]\u{1e}41".utf8), now: t0)
        session.finishPost()
        #expect(outputs(&session) == [.event(RealtimeEvent("leave-call"), ackID: nil), .disconnected, .closed(.clientClose)])
    }
}
