// What waits for an Engine.IO client is bounded, on a fake clock: the long-poll buffer and the
// WebSocket writes not yet taken by the connection, counted in packets and bytes; a client past
// either bound is closed (`sendQueueFull`) and what was queued for it is dropped.

import Testing

@testable import SocketIO

@Suite struct SocketIOSendQueueTests {
    let t0 = ContinuousClock.now
    let configuration = SocketIOConfiguration(maxQueuedPackets: 4, maxQueuedBytes: 100)

    private func session(_ transport: EngineIOTransport) -> EngineIOSession {
        var engine = EngineIOSession(sid: "sid1", transport: transport, configuration: configuration, now: t0)
        _ = outputs(&engine)
        return engine
    }

    private func outputs(_ session: inout EngineIOSession) -> [EngineIOOutput] {
        var all: [EngineIOOutput] = []
        while let output = session.pollOutput() { all.append(output) }
        return all
    }

    private func message(_ bytes: Int) -> EngineIOPacket {
        .message(String(repeating: "x", count: bytes - 1))  // + the type digit
    }

    // MARK: Long polling

    @Test func aClientThatDoesNotPollIsClosedPastThePacketBound() throws {
        var engine = session(.polling)
        for _ in 0..<4 { engine.send(.message("a")) }
        #expect(engine.queuedPackets == 4 && engine.queuedBytes == 8)
        #expect(outputs(&engine).isEmpty)
        engine.send(.message("one too many"))
        #expect(outputs(&engine) == [.closed(.sendQueueFull)])
        #expect(engine.queuedPackets == 0 && engine.queuedBytes == 0)
        #expect(throws: EngineIOError.unknownSession) { try engine.poll(now: t0 + .seconds(1)) }
    }

    @Test func aClientThatDoesNotPollIsClosedPastTheByteBound() {
        var engine = session(.polling)
        engine.send(message(60))
        engine.send(message(40))
        #expect(engine.queuedBytes == 100)
        #expect(outputs(&engine).isEmpty)
        engine.send(message(1))
        #expect(outputs(&engine) == [.closed(.sendQueueFull)])
    }

    @Test func aPollEmptiesTheQueue() throws {
        var engine = session(.polling)
        for round in 0..<10 {
            for _ in 0..<4 { engine.send(.message("\(round)")) }
            #expect(try engine.poll(now: t0 + .seconds(1)) == .answer(Array(repeating: "4\(round)", count: 4).joined(separator: "\u{1e}")))
            #expect(engine.queuedPackets == 0 && engine.queuedBytes == 0)
        }
        #expect(!engine.isClosed)
    }

    @Test func aPacketOverTheByteBoundStillGoesToAnIdleClient() throws {
        var engine = session(.polling)
        engine.send(message(150))
        #expect(!engine.isClosed)
        #expect(try engine.poll(now: t0 + .seconds(1)) == .answer(message(150).encoded))
        engine.send(message(10))
        engine.send(message(150))
        #expect(outputs(&engine) == [.closed(.sendQueueFull)])
    }

    @Test func theHeartbeatCountsToo() {
        var engine = session(.polling)
        for _ in 0..<4 { engine.send(.message("a")) }
        engine.handleTimeout(now: t0 + configuration.pingInterval)
        #expect(outputs(&engine) == [.closed(.sendQueueFull)])
    }

    @Test func packetsHeldDuringAnUpgradeAreBoundedToo() throws {
        var engine = session(.polling)
        try engine.attachProbe(now: t0)
        for _ in 0..<5 { engine.send(.message("a")) }
        #expect(outputs(&engine) == [.closeProbe, .closed(.sendQueueFull)])
    }

    // MARK: WebSocket

    @Test func unwrittenWebSocketPacketsCountUntilReportedWritten() {
        var engine = session(.websocket)
        // The handshake was handed to the WebSocket and is not written yet.
        #expect(engine.queuedPackets == 1)
        engine.webSocketWritten(engine.handshake)
        #expect(engine.queuedPackets == 0 && engine.queuedBytes == 0)
        var written: [EngineIOPacket] = []
        for round in 0..<10 {
            for _ in 0..<4 { engine.send(.message("\(round)")) }
            for output in outputs(&engine) {
                guard case .writeWebSocket(let packets) = output else { Issue.record("\(output)"); continue }
                written += packets
            }
            // A client that reads keeps the queue short.
            for packet in written { engine.webSocketWritten(packet) }
            written = []
        }
        #expect(!engine.isClosed && engine.queuedPackets == 0)
    }

    @Test func aWebSocketClientThatDoesNotReadIsAbortedPastThePacketBound() {
        var engine = session(.websocket)
        for _ in 0..<3 { engine.send(.message("a")) }
        #expect(engine.queuedPackets == 4)  // the handshake and three messages
        #expect(outputs(&engine) == Array(repeating: .writeWebSocket([.message("a")]), count: 3))
        engine.send(.message("b"))
        // No close packet: it would wait behind what the client does not read.
        #expect(outputs(&engine) == [.abortWebSocket, .closed(.sendQueueFull)])
        #expect(engine.queuedPackets == 0)
        // Late reports of writes change nothing.
        engine.webSocketWritten(.message("a"))
        #expect(outputs(&engine).isEmpty)
    }

    @Test func aWebSocketClientThatDoesNotReadIsAbortedPastTheByteBound() {
        var engine = session(.websocket)
        engine.webSocketWritten(engine.handshake)
        engine.send(message(90))
        engine.send(message(10))
        _ = outputs(&engine)
        engine.webSocketWritten(message(90))
        engine.send(message(80))
        #expect(outputs(&engine) == [.writeWebSocket([message(80)])])
        engine.send(message(20))
        #expect(outputs(&engine) == [.abortWebSocket, .closed(.sendQueueFull)])
    }

    @Test func anUpgradeHandsTheQueueToTheWebSocketWhereItStillCounts() throws {
        var engine = session(.polling)
        try engine.attachProbe(now: t0)
        engine.receiveProbe(.text("2probe"), now: t0)
        engine.send(.message("a"))
        engine.send(.message("b"))
        engine.receiveProbe(.text("5"), now: t0)
        #expect(outputs(&engine) == [.writeProbe([.pong("probe")]), .promoteProbe, .writeWebSocket([.message("a"), .message("b")])])
        #expect(engine.queuedPackets == 2)
        engine.send(.message("c"))
        engine.send(.message("d"))
        engine.send(.message("e"))
        #expect(outputs(&engine).suffix(2) == [.abortWebSocket, .closed(.sendQueueFull)])
    }

    @Test func theLayerAboveSeesTheClientLeave() {
        var session = SocketIOSession(
            sid: "sid1", socketID: "sock1", transport: .websocket,
            configuration: SocketIOConfiguration(maxQueuedPackets: 4, maxQueuedBytes: 10_000), now: t0,
            fallbackToken: "good-alice")
        session.receiveWebSocket(.text("40"), now: t0)
        session.authenticated(.success(RealtimeIdentity(user: "alice")))
        while session.pollOutput() != nil {}
        for _ in 0..<3 { session.emit(RealtimeEvent("ping-pong")) }
        var all: [SocketIOSessionOutput] = []
        while let output = session.pollOutput() { all.append(output) }
        #expect(all.suffix(3) == [.abortWebSocket, .disconnected, .closed(.sendQueueFull)])
    }
}
