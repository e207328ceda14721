// The Engine.IO v4 session state machine on a fake clock: handshake, held polls, heartbeat,
// upgrade (2probe/3probe/5 and the noop to a pending poll), close, limits.

import Testing

@testable import SocketIO

@Suite struct SocketIOEngineSessionTests {
    let t0 = ContinuousClock.now
    let configuration = SocketIOConfiguration(
        pingInterval: .seconds(25), pingTimeout: .seconds(20), maxPayload: 100, upgradeTimeout: .seconds(10))

    private func session(_ transport: EngineIOTransport = .polling) -> EngineIOSession {
        EngineIOSession(sid: "sid1", transport: transport, configuration: configuration, now: t0)
    }

    private func at(_ seconds: Double) -> EngineIOInstant { t0 + .milliseconds(Int64(seconds * 1000)) }

    private func outputs(_ session: inout EngineIOSession) -> [EngineIOOutput] {
        var all: [EngineIOOutput] = []
        while let output = session.pollOutput() { all.append(output) }
        return all
    }

    private func post(_ session: inout EngineIOSession, _ body: String, at seconds: Double = 0) throws {
        try session.receivePost(Array(body.utf8), now: at(seconds))
        session.finishPost()
    }

    @Test func pollingHandshakeAnnouncesTheUpgradeAndTimers() {
        var engine = session()
        #expect(engine.handshake == .open(#"{"sid":"sid1","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":100}"#))
        #expect(outputs(&engine).isEmpty)
        #expect(engine.nextDeadline == at(25))
    }

    @Test func webSocketHandshakeIsTheFirstFrameAndOffersNoUpgrade() {
        var engine = session(.websocket)
        #expect(outputs(&engine) == [.writeWebSocket([.open(#"{"sid":"sid1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":100}"#)])])
    }

    @Test func aPollIsHeldUntilSomethingIsQueued() throws {
        var engine = session()
        #expect(try engine.poll(now: at(1)) == .hold)
        #expect(engine.isPollHeld)
        engine.send(.message("hello"))
        #expect(outputs(&engine) == [.answerPoll("4hello")])
        engine.send(.message("a"))
        engine.send(.message("b"))
        #expect(outputs(&engine).isEmpty)
        #expect(try engine.poll(now: at(2)) == .answer("4a\u{1e}4b"))
    }

    @Test func theServerPingsAndThePongRearmsTheHeartbeat() throws {
        var engine = session()
        #expect(try engine.poll(now: at(1)) == .hold)
        engine.handleTimeout(now: at(24.9))
        #expect(outputs(&engine).isEmpty)
        engine.handleTimeout(now: at(25))
        #expect(outputs(&engine) == [.answerPoll("2")])
        #expect(engine.nextDeadline == at(45))  // pong due within pingTimeout
        try post(&engine, "3", at: 30)
        #expect(engine.nextDeadline == at(55))  // next ping pingInterval after the pong
        engine.handleTimeout(now: at(45))
        #expect(!engine.isClosed)
    }

    @Test func aMissingPongClosesTheSession() throws {
        var engine = session()
        engine.handleTimeout(now: at(25))
        #expect(try engine.poll(now: at(26)) == .answer("2"))
        #expect(try engine.poll(now: at(27)) == .hold)
        engine.handleTimeout(now: at(45))
        #expect(outputs(&engine) == [.answerPoll("1"), .closed(.pingTimeout)])
        #expect(throws: EngineIOError.unknownSession) { try engine.poll(now: at(46)) }
        #expect(engine.nextDeadline == nil)
    }

    @Test func anUnsolicitedPongDoesNotPostponeThePing() throws {
        var engine = session()
        try post(&engine, "3", at: 10)
        #expect(engine.nextDeadline == at(25))
    }

    @Test func aDuplicatePollClosesTheSessionAndAnswersTheFirstWithClose() throws {
        var engine = session()
        #expect(try engine.poll(now: at(1)) == .hold)
        #expect(throws: EngineIOError.badRequest) { try engine.poll(now: at(1)) }
        #expect(outputs(&engine) == [.answerPoll("1"), .closed(.duplicatePoll)])
    }

    @Test func postedMessagesReachTheLayerAbove() throws {
        var engine = session()
        try post(&engine, "4hello\u{1e}bAQID\u{1e}6")
        #expect(outputs(&engine) == [.received(.message("hello")), .received(.binaryMessage([1, 2, 3]))])
    }

    @Test func aMalformedPayloadClosesTheSession() throws {
        var engine = session()
        #expect(throws: EngineIOError.badRequest) { try engine.receivePost(Array("abc".utf8), now: at(1)) }
        #expect(outputs(&engine) == [.closed(.protocolError("packet 0: unknown packet type 97"))])
        #expect(throws: EngineIOError.unknownSession) { try engine.poll(now: at(2)) }
    }

    @Test func aPayloadOverMaxPayloadIs413AndCloses() throws {
        var engine = session()
        let body = Array(("4" + String(repeating: "x", count: 100)).utf8)
        #expect(throws: EngineIOError.payloadTooLarge) { try engine.receivePost(body, now: at(1)) }
        #expect(outputs(&engine) == [.closed(.payloadTooLarge)])
    }

    @Test func overlappingPostsCloseTheSession() throws {
        var engine = session()
        try engine.receivePost(Array("4a".utf8), now: at(1))
        #expect(throws: EngineIOError.badRequest) { try engine.receivePost(Array("4b".utf8), now: at(1)) }
        #expect(outputs(&engine).last == .closed(.protocolError("overlapping POST requests")))
    }

    @Test func aClientCloseAnswersThePendingPollWithNoop() throws {
        var engine = session()
        #expect(try engine.poll(now: at(1)) == .hold)
        try post(&engine, "1", at: 1)
        #expect(outputs(&engine) == [.answerPoll("6"), .closed(.clientClose)])
        #expect(throws: EngineIOError.unknownSession) { try engine.poll(now: at(2)) }
    }

    @Test func packetsAfterACloseInTheSamePayloadAreDropped() throws {
        var engine = session()
        try post(&engine, "1\u{1e}4late")
        #expect(outputs(&engine) == [.closed(.clientClose)])
    }

    @Test func anOpenOrUpgradeFromTheClientIsAProtocolError() throws {
        var engine = session()
        try post(&engine, "0{}")
        #expect(outputs(&engine) == [.closed(.protocolError("unexpected packet 0 from the client"))])
        var other = session()
        try post(&other, "5")
        #expect(outputs(&other) == [.closed(.protocolError("unexpected packet 5 from the client"))])
    }

    @Test func upgradeWithAPendingPoll() throws {
        var engine = session()
        #expect(try engine.poll(now: at(1)) == .hold)
        try engine.attachProbe(now: at(2))
        #expect(engine.phase == .upgrading(probed: false))
        engine.receiveProbe(.text("2probe"), now: at(2))
        // The probe is answered, and the pending poll ends with a noop so that the client can
        // pause polling and send `5`.
        #expect(outputs(&engine) == [.writeProbe([.pong("probe")]), .answerPoll("6")])
        #expect(try engine.poll(now: at(2.1)) == .answer("6"))
        engine.send(.message("queued during the upgrade"))
        engine.receiveProbe(.text("5"), now: at(3))
        #expect(outputs(&engine) == [.promoteProbe, .writeWebSocket([.message("queued during the upgrade")])])
        #expect(engine.phase == .websocket)
        engine.send(.message("after"))
        #expect(outputs(&engine) == [.writeWebSocket([.message("after")])])
        // Polling is over for this session.
        #expect(throws: EngineIOError.badRequest) { try engine.poll(now: at(4)) }
        #expect(throws: EngineIOError.badRequest) { try engine.receivePost(Array("4x".utf8), now: at(4)) }
        #expect(!engine.isClosed)
    }

    @Test func upgradeWithoutAPoll() throws {
        var engine = session()
        try engine.attachProbe(now: at(1))
        engine.receiveProbe(.text("2probe"), now: at(1))
        engine.receiveProbe(.text("5"), now: at(1))
        #expect(outputs(&engine) == [.writeProbe([.pong("probe")]), .promoteProbe])
        engine.receiveWebSocket(.text("4hi"), now: at(2))
        #expect(outputs(&engine) == [.received(.message("hi"))])
    }

    @Test func onlyOneUpgradeAtATime() throws {
        var engine = session()
        try engine.attachProbe(now: at(1))
        #expect(throws: EngineIOError.badRequest) { try engine.attachProbe(now: at(1)) }
        engine.receiveProbe(.text("2probe"), now: at(1))
        engine.receiveProbe(.text("5"), now: at(1))
        #expect(throws: EngineIOError.badRequest) { try engine.attachProbe(now: at(2)) }
        var direct = session(.websocket)
        #expect(throws: EngineIOError.badRequest) { try direct.attachProbe(now: at(1)) }
    }

    @Test func aBadProbeIsClosedAndPollingGoesOn() throws {
        var engine = session()
        try engine.attachProbe(now: at(1))
        engine.receiveProbe(.text("4hello"), now: at(1))
        #expect(outputs(&engine) == [.closeProbe])
        #expect(engine.phase == .polling)
        // `5` before the probe ping is as wrong.
        try engine.attachProbe(now: at(2))
        engine.receiveProbe(.text("5"), now: at(2))
        #expect(outputs(&engine) == [.closeProbe])
        #expect(try engine.poll(now: at(3)) == .hold)
    }

    @Test func anUnfinishedUpgradeTimesOut() throws {
        var engine = session()
        try engine.attachProbe(now: at(1))
        engine.receiveProbe(.text("2probe"), now: at(1))
        _ = outputs(&engine)
        #expect(engine.nextDeadline == at(11))
        engine.handleTimeout(now: at(11))
        #expect(outputs(&engine) == [.closeProbe])
        #expect(engine.phase == .polling)
        #expect(engine.nextDeadline == at(25))
    }

    @Test func aProbeThatClosesLeavesPolling() throws {
        var engine = session()
        try engine.attachProbe(now: at(1))
        engine.probeClosed(now: at(2))
        #expect(engine.phase == .polling)
        try engine.attachProbe(now: at(3))
        #expect(engine.phase == .upgrading(probed: false))
    }

    @Test func webSocketHeartbeatAndTransportClose() {
        var engine = session(.websocket)
        _ = outputs(&engine)
        engine.handleTimeout(now: at(25))
        #expect(outputs(&engine) == [.writeWebSocket([.ping("")])])
        engine.receiveWebSocket(.text("3"), now: at(26))
        #expect(engine.nextDeadline == at(51))
        engine.webSocketClosed(now: at(30))
        #expect(outputs(&engine) == [.closed(.transportClose)])
    }

    @Test func webSocketFramesAreCheckedToo() {
        var engine = session(.websocket)
        _ = outputs(&engine)
        engine.receiveWebSocket(.binary([9, 9]), now: at(1))
        #expect(outputs(&engine) == [.received(.binaryMessage([9, 9]))])
        engine.receiveWebSocket(.text("bAQID"), now: at(1))
        #expect(outputs(&engine) == [.writeWebSocket([.close]), .closeWebSocket, .closed(.protocolError("unknown packet type 98"))])

        var big = session(.websocket)
        _ = outputs(&big)
        big.receiveWebSocket(.binary([UInt8](repeating: 0, count: 101)), now: at(1))
        #expect(outputs(&big).last == .closed(.payloadTooLarge))
    }

    @Test func aServerCloseTellsTheClient() {
        var engine = session(.websocket)
        _ = outputs(&engine)
        engine.close(.server("shutting down"))
        #expect(outputs(&engine) == [.writeWebSocket([.close]), .closeWebSocket, .closed(.server("shutting down"))])
        engine.send(.message("too late"))
        engine.close(.pingTimeout)
        #expect(outputs(&engine).isEmpty)
    }

    @Test func aClientCloseOnWebSocketIsNotEchoed() {
        var engine = session(.websocket)
        _ = outputs(&engine)
        engine.receiveWebSocket(.text("1"), now: at(1))
        #expect(outputs(&engine) == [.closeWebSocket, .closed(.clientClose)])
    }

    @Test func closingDuringAnUpgradeClosesTheProbe() throws {
        var engine = session()
        #expect(try engine.poll(now: at(1)) == .hold)
        try engine.attachProbe(now: at(1))
        engine.close(.server("bye"))
        #expect(outputs(&engine) == [.answerPoll("1"), .closeProbe, .closed(.server("bye"))])
    }
}
