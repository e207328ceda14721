// Socket.IO v5 packet codec: namespaces, ack ids, payload rules, binary headers.

import Testing

@testable import SocketIO

@Suite struct SocketIOPacketTests {
    private func decode(_ text: String) throws -> SocketIOPacket { try SocketIOPacket(decoding: text) }

    private func refusal(_ text: String) -> SocketIOPacketError? {
        do {
            _ = try SocketIOPacket(decoding: text)
            return nil
        } catch {
            return error
        }
    }

    @Test func connectWithAndWithoutAuth() throws {
        #expect(try decode("0") == SocketIOPacket(.connect))
        #expect(try decode(#"0{"token":"abc"}"#) == SocketIOPacket(.connect, data: .object(["token": .string("abc")])))
        #expect(try decode("0/admin,") == SocketIOPacket(.connect, namespace: "/admin"))
        // The namespace may end the packet without a comma.
        #expect(try decode("0/random") == SocketIOPacket(.connect, namespace: "/random"))
        #expect(try decode(#"0/admin,{"token":"x"}"#).data?["token"] == .string("x"))
    }

    @Test func eventsWithNamespaceAndAckID() throws {
        let plain = try decode(#"2["join-call",{"callId":"c1"}]"#)
        #expect(plain.kind == .event && plain.namespace == "/" && plain.ackID == nil)
        #expect(plain.event?.name == "join-call")
        #expect(plain.event?.argument == .object(["callId": .string("c1")]))

        let acked = try decode(#"212["toggle-audio",{"enabled":false}]"#)
        #expect(acked.ackID == 12)
        #expect(acked.event?.argument?["enabled"] == .bool(false))

        let namespaced = try decode(#"2/chat,7["msg"]"#)
        #expect(namespaced.namespace == "/chat" && namespaced.ackID == 7)
        #expect(namespaced.event?.name == "msg" && namespaced.event?.argument == nil)
    }

    @Test func acksDisconnectsAndErrors() throws {
        #expect(try decode("35[]") == SocketIOPacket(.ack, ackID: 5, data: .array([])))
        #expect(try decode("1") == SocketIOPacket(.disconnect))
        #expect(try decode("1/admin,") == SocketIOPacket(.disconnect, namespace: "/admin"))
        #expect(try decode(#"4{"message":"no"}"#).kind == .connectError)
        #expect(try decode(#"4"plain""#).data == .string("plain"))
    }

    @Test func binaryHeadersAreParsed() throws {
        let packet = try decode(#"52-["upload",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#)
        #expect(packet.kind == .binaryEvent && packet.attachments == 2)
        let ack = try decode(#"61-/chat,3[{"_placeholder":true,"num":0}]"#)
        #expect(ack.kind == .binaryAck && ack.attachments == 1 && ack.namespace == "/chat" && ack.ackID == 3)
    }

    @Test func encodingMatchesTheReference() {
        #expect(SocketIOPacket(.connect, data: .object(["sid": .string("abc")])).encoded == #"0{"sid":"abc"}"#)
        #expect(SocketIOPacket(.connectError, namespace: "/x", data: .object(["message": .string("Invalid namespace")])).encoded
            == #"4/x,{"message":"Invalid namespace"}"#)
        #expect(SocketIOPacket.event("call-ended", .object(["callId": .string("c/1")])).encoded == #"2["call-ended",{"callId":"c/1"}]"#)
        #expect(SocketIOPacket(.ack, ackID: 42, data: .array([.object(["ok": .bool(true)])])).encoded == #"342[{"ok":true}]"#)
        #expect(SocketIOPacket(.disconnect, namespace: "/admin").encoded == "1/admin,")
        #expect(SocketIOPacket(.binaryEvent, attachments: 1, data: .array([.string("a")])).encoded == #"51-["a"]"#)
    }

    @Test func numbersStayIntegralOnTheWire() {
        // sdpMLineIndex and friends must reach JavaScript as 0, not 0.0.
        let packet = SocketIOPacket.event("ice-candidate", .object(["sdpMLineIndex": .number(0)]))
        #expect(packet.encoded == #"2["ice-candidate",{"sdpMLineIndex":0}]"#)
    }

    @Test func roundTrips() throws {
        let packets = [
            SocketIOPacket(.connect),
            SocketIOPacket(.connect, namespace: "/a", data: .object(["token": .string("t")])),
            SocketIOPacket.event("x", .array([.null, .bool(true), .string("é\n\"")]), ackID: 99),
            SocketIOPacket(.ack, namespace: "/n", ackID: 0, data: .array([])),
            SocketIOPacket(.disconnect),
            SocketIOPacket(.binaryEvent, namespace: "/b", ackID: 1, attachments: 3, data: .array([.string("y")])),
        ]
        for packet in packets {
            #expect(try decode(packet.encoded) == packet)
        }
    }

    @Test func malformedPacketsAreRefusedWithAReason() {
        #expect(refusal("") == .empty)
        #expect(refusal("7") == .unknownType(UInt8(ascii: "7")))
        #expect(refusal("abc") == .unknownType(UInt8(ascii: "a")))
        #expect(refusal("2") == .invalidPayload(.event))
        #expect(refusal("2[]") == .invalidPayload(.event))
        #expect(refusal("2[1]") == .invalidPayload(.event))
        #expect(refusal(#"2{"a":1}"#) == .invalidPayload(.event))
        #expect(refusal(#"2["disconnect"]"#) == .reservedEventName("disconnect"))
        #expect(refusal(#"2["connect"]"#) == .reservedEventName("connect"))
        #expect(refusal(#"2["a""#) == .badJSON)
        #expect(refusal(#"2["a"] trailing"#) == .badJSON)
        #expect(refusal("0[]") == .invalidPayload(.connect))
        #expect(refusal(#"0"token""#) == .invalidPayload(.connect))
        #expect(refusal("01{}") == .unexpectedAckID(.connect))
        #expect(refusal("1{}") == .invalidPayload(.disconnect))
        #expect(refusal("3[]") == .missingAckID)
        #expect(refusal("31{}") == .invalidPayload(.ack))
        #expect(refusal("4") == .invalidPayload(.connectError))
        #expect(refusal(#"5["a"]"#) == .badAttachmentCount)
        #expect(refusal(#"5-["a"]"#) == .badAttachmentCount)
        #expect(refusal(#"599999-["a"]"#) == .badAttachmentCount)
        #expect(refusal(#"21234567890123456["a"]"#) == .badAckID)
        #expect(refusal("0/" + String(repeating: "n", count: 300) + ",") == .namespaceTooLong)
    }

    @Test func deepNestingIsRefusedNotACrash() {
        let deep = "2[\"a\"," + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "]"
        #expect(refusal(deep) == .badJSON)
    }
}
