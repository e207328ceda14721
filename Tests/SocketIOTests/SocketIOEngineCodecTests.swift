// Engine.IO v4 packet and payload codecs, request validation and error bodies.

import ChorusTestSupport
import Testing

@testable import SocketIO

@Suite struct SocketIOEngineCodecTests {
    @Test func packetsEncodeAsTypeDigitAndData() {
        #expect(EngineIOPacket.open(#"{"sid":"x"}"#).encoded == #"0{"sid":"x"}"#)
        #expect(EngineIOPacket.close.encoded == "1")
        #expect(EngineIOPacket.ping("").encoded == "2")
        #expect(EngineIOPacket.ping("probe").encoded == "2probe")
        #expect(EngineIOPacket.pong("probe").encoded == "3probe")
        #expect(EngineIOPacket.message("hello €").encoded == "4hello €")
        #expect(EngineIOPacket.binaryMessage([1, 2, 3, 4]).encoded == "bAQIDBA==")
        #expect(EngineIOPacket.upgrade.encoded == "5")
        #expect(EngineIOPacket.noop.encoded == "6")
    }

    @Test func packetsRoundTrip() throws {
        let packets: [EngineIOPacket] = [
            .open("{}"), .close, .ping(""), .ping("probe"), .pong(""), .pong("probe"), .message(""),
            .message("42[\"a\",{}]"), .binaryMessage([]), .binaryMessage([0, 255, 7]), .upgrade, .noop,
        ]
        for packet in packets {
            #expect(try EngineIOPacket(text: packet.encoded[...], base64Binary: true) == packet)
        }
    }

    @Test func malformedPacketsAreRefusedWithAReason() {
        #expect(throws: EngineIOPacketError.empty) { try EngineIOPacket(text: "", base64Binary: true) }
        #expect(throws: EngineIOPacketError.unknownType(UInt8(ascii: "7"))) { try EngineIOPacket(text: "7", base64Binary: true) }
        #expect(throws: EngineIOPacketError.unknownType(UInt8(ascii: "a"))) { try EngineIOPacket(text: "abc", base64Binary: true) }
        #expect(throws: EngineIOPacketError.unexpectedData(type: "close")) { try EngineIOPacket(text: "1x", base64Binary: true) }
        #expect(throws: EngineIOPacketError.unexpectedData(type: "upgrade")) { try EngineIOPacket(text: "5probe", base64Binary: true) }
        #expect(throws: EngineIOPacketError.unexpectedData(type: "noop")) { try EngineIOPacket(text: "6 ", base64Binary: true) }
        #expect(throws: EngineIOPacketError.badBase64) { try EngineIOPacket(text: "b!!!", base64Binary: true) }
        // On a WebSocket, binary travels in binary frames: `b` is no packet type there.
        #expect(throws: EngineIOPacketError.unknownType(UInt8(ascii: "b"))) { try EngineIOPacket(text: "bAQID", base64Binary: false) }
    }

    @Test func payloadJoinsWithTheRecordSeparator() {
        let body = EngineIOPayload.encode([.message("test1"), .message("test2"), .binaryMessage([1, 2, 3, 4])])
        #expect(body == "4test1\u{1e}4test2\u{1e}bAQIDBA==")
        #expect(EngineIOPayload.encode([.ping("")]) == "2")
    }

    @Test func payloadSplitsOnTheRecordSeparator() throws {
        let packets = try EngineIOPayload.decode(Array("4hello\u{1e}bAQIDBA==\u{1e}3\u{1e}1".utf8), maxPayload: 1000)
        #expect(packets == [.message("hello"), .binaryMessage([1, 2, 3, 4]), .pong(""), .close])
        #expect(try EngineIOPayload.decode(Array("4€€€".utf8), maxPayload: 100) == [.message("€€€")])
    }

    @Test func aSeparatorBeforeACombiningMarkStillSplits() throws {
        // As Characters, U+001E + U+0301 would be one grapheme and the boundary would vanish.
        let packets = try EngineIOPayload.decode(Array("4a\u{1e}4\u{301}b".utf8), maxPayload: 100)
        #expect(packets == [.message("a"), .message("\u{301}b")])
    }

    @Test func malformedPayloadsAreRefused() throws {
        #expect(throws: EngineIOPayloadError.empty) { try EngineIOPayload.decode([], maxPayload: 10) }
        #expect(throws: EngineIOPayloadError.tooLarge(11)) { try EngineIOPayload.decode(Array("4abcdefghij".utf8), maxPayload: 10) }
        #expect(throws: EngineIOPayloadError.notUTF8) { try EngineIOPayload.decode([0x34, 0xFF, 0xFE], maxPayload: 10) }
        #expect(throws: EngineIOPayloadError.badPacket(index: 1, .empty)) { try EngineIOPayload.decode(Array("4a\u{1e}".utf8), maxPayload: 10) }
        #expect(throws: EngineIOPayloadError.badPacket(index: 0, .empty)) { try EngineIOPayload.decode(Array("\u{1e}4a".utf8), maxPayload: 10) }
        #expect(throws: EngineIOPayloadError.badPacket(index: 0, .unknownType(UInt8(ascii: "a")))) {
            try EngineIOPayload.decode(Array("abc".utf8), maxPayload: 10)
        }
        let many = Array(repeating: "6", count: 1025).joined(separator: "\u{1e}")
        #expect(throws: EngineIOPayloadError.tooManyPackets) { try EngineIOPayload.decode(Array(many.utf8), maxPayload: 1_000_000) }
        // The most a payload may hold still decodes; a body of separators alone fails at its first.
        let most = Array(repeating: "6", count: 1024).joined(separator: "\u{1e}")
        #expect(try EngineIOPayload.decode(Array(most.utf8), maxPayload: 1_000_000).count == 1024)
        let separators = [UInt8](repeating: 0x1E, count: 1_000_000)
        #expect(throws: EngineIOPayloadError.badPacket(index: 0, .empty)) { try EngineIOPayload.decode(separators, maxPayload: 1_000_000) }
    }

    @Test func requestsAreValidatedLikeTheReferenceServer() throws {
        let handshake = try EngineIORequest(method: .get, query: ["EIO": "4", "transport": "polling"], isWebSocketUpgrade: false)
        #expect(handshake.transport == .polling && handshake.sid == nil)
        let direct = try EngineIORequest(method: .get, query: ["EIO": "4", "transport": "websocket"], isWebSocketUpgrade: true)
        #expect(direct.transport == .websocket && direct.sid == nil)
        let post = try EngineIORequest(method: .post, query: ["EIO": "4", "transport": "polling", "sid": "abc_-9"], isWebSocketUpgrade: false)
        #expect(post.sid == "abc_-9")

        func refusal(_ method: EngineIORequest.Method, _ query: [String: String], upgrade: Bool = false) -> EngineIOError? {
            do {
                _ = try EngineIORequest(method: method, query: query, isWebSocketUpgrade: upgrade)
                return nil
            } catch {
                return error
            }
        }
        #expect(refusal(.get, ["EIO": "4"]) == .unknownTransport)
        #expect(refusal(.get, ["EIO": "4", "transport": "flashsocket"]) == .unknownTransport)
        #expect(refusal(.get, ["transport": "polling"]) == .unsupportedProtocolVersion)
        #expect(refusal(.get, ["EIO": "3", "transport": "polling"]) == .unsupportedProtocolVersion)
        #expect(refusal(.get, ["EIO": "abc", "transport": "polling"]) == .unsupportedProtocolVersion)
        #expect(refusal(.post, ["EIO": "4", "transport": "polling"]) == .badHandshakeMethod)
        #expect(refusal(.other, ["EIO": "4", "transport": "polling"]) == .badHandshakeMethod)
        #expect(refusal(.other, ["EIO": "4", "transport": "polling", "sid": "a"]) == .badRequest)
        #expect(refusal(.get, ["EIO": "4", "transport": "websocket"]) == .badRequest)  // no Upgrade header
        #expect(refusal(.get, ["EIO": "4", "transport": "polling"], upgrade: true) == .badRequest)
        #expect(refusal(.post, ["EIO": "4", "transport": "websocket", "sid": "a"]) == .badRequest)
        #expect(refusal(.get, ["EIO": "4", "transport": "polling", "j": "0"]) == .badRequest)
        #expect(refusal(.get, ["EIO": "4", "transport": "polling", "sid": ""]) == .unknownSession)
        #expect(refusal(.get, ["EIO": "4", "transport": "polling", "sid": "a b"]) == .unknownSession)
        #expect(refusal(.get, ["EIO": "4", "transport": "polling", "sid": String(repeating: "a", count: 65)]) == .unknownSession)
    }

    @Test func errorBodiesAreTheReferenceJSON() {
        #expect(EngineIOError.unknownSession.body == #"{"code":1,"message":"Session ID unknown"}"#)
        #expect(EngineIOError.unsupportedProtocolVersion.body == #"{"code":5,"message":"Unsupported protocol version"}"#)
        #expect(EngineIOError.payloadTooLarge.status == 413)
        #expect(EngineIOError(code: 3, message: "a \"q\"\n").body == #"{"code":3,"message":"a \"q\"\u000a"}"#)
    }

    @Test func identifiersAreTwentyBase64URLCharacters() {
        var generator = SeededGenerator(seed: 7)
        var seen = Set<String>()
        for _ in 0..<200 {
            let id = SocketIOIdentifier.random(using: &generator)
            #expect(id.utf8.count == 20)
            #expect(EngineIORequest.isPlausibleSessionID(id))
            seen.insert(id)
        }
        #expect(seen.count == 200)
        #expect(SocketIOIdentifier.random() != SocketIOIdentifier.random())
    }
}
