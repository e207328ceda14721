// Random and mutated input into the Engine.IO/Socket.IO codecs and sessions: never a crash,
// and the session's promises hold (one `closed`, last; `disconnected` once, after `connected`).

import ChorusTestSupport
import Testing

@testable import SocketIO

@Suite struct SocketIOFuzzTests {
    /// Fragments real clients send, to mutate and splice.
    static let fragments = [
        "0", "1", "2", "3", "4", "5", "6", "2probe", "3probe", "40", #"40{"token":"good-a"}"#, "41", "40/x,",
        #"42["join-call",{"callId":"c"}]"#, #"421["echo",{}]"#, "431[]", #"451-["a",{"_placeholder":true,"num":0}]"#,
        "bAQID", "b!!", "44{}", "\u{1e}", "€", "\u{301}", "[", "]", "{", "}", "\"", ",", "/", "-", "9999999999999999",
    ]

    static func check(_ token: String) -> Result<RealtimeIdentity, SocketIOAuthFailure> {
        token.hasPrefix("good-") ? .success(RealtimeIdentity(user: String(token.dropFirst(5)))) : .failure(SocketIOAuthFailure("invalid token"))
    }

    private func randomText(_ generator: inout SeededGenerator) -> String {
        var text = ""
        for _ in 0..<Int.random(in: 0...4, using: &generator) {
            if Bool.random(using: &generator) {
                text += Self.fragments.randomElement(using: &generator)!
            } else {
                let bytes = generator.bytes(Int.random(in: 0...8, using: &generator))
                text += String(decoding: bytes, as: UTF8.self)
            }
        }
        return text
    }

    @Test func codecsSurviveRandomInput() {
        var generator = SeededGenerator(seed: 0x50C4E7)
        for _ in 0..<20_000 {
            let bytes: [UInt8] = Bool.random(using: &generator)
                ? generator.bytes(Int.random(in: 0...64, using: &generator))
                : Array(randomText(&generator).utf8)
            _ = try? EngineIOPayload.decode(bytes, maxPayload: 1000)
            let text = String(decoding: bytes, as: UTF8.self)
            _ = try? EngineIOPacket(text: text[...], base64Binary: true)
            if let packet = try? SocketIOPacket(decoding: text) {
                // Whatever decodes re-encodes to something that decodes to the same packet.
                #expect((try? SocketIOPacket(decoding: packet.encoded)) == packet, "\(text.debugDescription)")
            }
        }
    }

    @Test func sessionsKeepTheirPromisesUnderRandomTraffic() throws {
        var generator = SeededGenerator(seed: 0xE1010)
        let t0 = ContinuousClock.now
        for round in 0..<400 {
            var now = t0
            var session = SocketIOSession(
                sid: "s", socketID: "k", transport: Bool.random(using: &generator) ? .polling : .websocket,
                configuration: SocketIOConfiguration(pingInterval: .seconds(1), pingTimeout: .seconds(1), maxPayload: 64),
                now: now, fallbackToken: Bool.random(using: &generator) ? "good-f" : nil)
            // A token being checked is answered some steps later, or never.
            var checking: String?
            var connected = false
            var disconnected = false
            var closed = false
            for _ in 0..<60 {
                now = now + .milliseconds(Int64.random(in: 0...400, using: &generator))
                if let token = checking, Bool.random(using: &generator) {
                    checking = nil
                    session.authenticated(Self.check(token))
                }
                let text = randomText(&generator)
                switch Int.random(in: 0..<9, using: &generator) {
                case 0: _ = try? session.poll(now: now)
                case 1:
                    _ = try? session.receivePost(Array(text.utf8), now: now)
                    session.finishPost()
                case 2: session.receiveWebSocket(.text(text), now: now)
                case 3: session.receiveWebSocket(.binary(generator.bytes(3)), now: now)
                case 4: _ = try? session.attachProbe(now: now)
                case 5: session.receiveProbe(.text(Bool.random(using: &generator) ? "2probe" : "5"), now: now)
                case 6: session.emit(RealtimeEvent("e", .string(text)))
                case 7: session.handleTimeout(now: now)
                default: session.probeClosed(now: now)
                }
                while let output = session.pollOutput() {
                    #expect(!closed, "round \(round): output \(output) after closed")
                    switch output {
                    case .authenticate(let token):
                        checking = token
                    case .connected:
                        #expect(!connected && !disconnected, "round \(round)")
                        connected = true
                    case .event:
                        #expect(connected && !disconnected, "round \(round)")
                    case .disconnected:
                        #expect(connected && !disconnected, "round \(round)")
                        disconnected = true
                    case .closed:
                        closed = true
                    default:
                        break
                    }
                }
                #expect(closed == session.isClosed)
            }
            if connected && closed { #expect(disconnected, "round \(round)") }
        }
    }
}
