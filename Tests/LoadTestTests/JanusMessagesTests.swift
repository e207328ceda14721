// The JSON of Janus's HTTP API as the load test writes it and reads it: requests encoded to
// what the VideoRoom expects, and captured replies of a real Janus 1.1.2 parsed.

import Testing
@testable import LoadTest

@Suite struct JanusMessagesTests {
    // MARK: - Requests

    @Test func createSessionAndAttach() {
        #expect(JanusRequest(janus: "create", transaction: "t1").json() == #"{"janus":"create","transaction":"t1"}"#)
        #expect(
            JanusRequest(janus: "attach", transaction: "t2", plugin: "janus.plugin.videoroom").json()
                == #"{"janus":"attach","plugin":"janus.plugin.videoroom","transaction":"t2"}"#)
    }

    @Test func createRoomAsksForOpusAndVP8WithoutCapsOrPeriodicKeyframes() {
        let json = JanusRequest(janus: "message", transaction: "t", body: .create(room: 77, description: "lt-x-0", publishers: 100)).json()
        #expect(
            json == #"{"body":{"audiocodec":"opus","bitrate":0,"description":"lt-x-0","fir_freq":0,"notify_joining":false,"#
                + #""permanent":false,"publishers":100,"request":"create","room":77,"videocodec":"vp8"},"janus":"message","transaction":"t"}"#)
    }

    @Test func publisherJoinCarriesTheOffer() {
        let json = JanusRequest(
            janus: "message", transaction: "t", body: .publish(room: 5, display: "alice"),
            jsep: JanusJSEP(type: "offer", sdp: "v=0\r\n")
        ).json()
        #expect(
            json == #"{"body":{"display":"alice","ptype":"publisher","request":"joinandconfigure","room":5},"#
                + #""janus":"message","jsep":{"sdp":"v=0\r\n","type":"offer"},"transaction":"t"}"#)
    }

    @Test func subscriberJoinNamesTheFeedAsAStream() {
        // Janus 1.x multistream: `streams: [{feed}]`, not the 0.x `feed` field.
        let json = JanusRequest(janus: "message", transaction: "t", body: .subscribe(room: 5, feed: 4187214361816616)).json()
        #expect(
            json == #"{"body":{"ptype":"subscriber","request":"join","room":5,"streams":[{"feed":4187214361816616}]},"#
                + #""janus":"message","transaction":"t"}"#)
    }

    @Test func startAndDestroy() {
        #expect(JanusRequest(janus: "message", transaction: "t", body: .start).json() == #"{"body":{"request":"start"},"janus":"message","transaction":"t"}"#)
        #expect(
            JanusRequest(janus: "message", transaction: "t", body: .destroy(room: 9)).json()
                == #"{"body":{"permanent":false,"request":"destroy","room":9},"janus":"message","transaction":"t"}"#)
        #expect(JanusRequest(janus: "keepalive", transaction: "k").json() == #"{"janus":"keepalive","transaction":"k"}"#)
    }

    // MARK: - Replies

    @Test func sessionAndHandleIDs() throws {
        let created = try JanusReply(parsing: JanusFixtures.create)
        #expect(created.janus == "success" && created.transaction == "cr1" && created.data?.id == 8_937_076_931_409_813)
        let attached = try JanusReply(parsing: JanusFixtures.attach)
        #expect(attached.sessionID == 3_896_341_549_650_072 && attached.data?.id == 1_769_891_440_346_218)
        #expect(attached.plugindata == nil && attached.error == nil)
    }

    @Test func coreErrorAndAck() throws {
        let error = try JanusReply(parsing: JanusFixtures.noSuchSession)
        #expect(error.janus == "error" && error.error == JanusReply.CoreError(code: 458, reason: "No such session 1234"))
        let ack = try JanusReply(parsing: JanusFixtures.keepaliveAck)
        #expect(ack.janus == "ack" && ack.transaction == "ka2" && ack.videoRoom == nil)
        #expect(try JanusReply(parsing: JanusFixtures.publisherAck).janus == "ack")
    }

    @Test func synchronousPluginReplies() throws {
        let created = try JanusReply(parsing: JanusFixtures.roomCreated)
        #expect(created.plugindata?.plugin == "janus.plugin.videoroom")
        #expect(created.videoRoom?.videoroom == "created" && created.videoRoom?.room == 1_234_567 && created.videoRoom?.errorCode == nil)
        let exists = try JanusReply(parsing: JanusFixtures.roomExists)
        #expect(exists.videoRoom?.errorCode == 427 && exists.videoRoom?.error == "Room 1234567 already exists")
    }

    @Test func publisherJoinedEventHasFeedAndAnswer() throws {
        let events = try JanusReply.events(parsing: JanusFixtures.publisherJoined)
        try #require(events.count == 1)
        let joined = events[0]
        #expect(joined.janus == "event" && joined.transaction == "pubjoin1" && joined.sender == 1_759_391_739_466_512)
        #expect(joined.videoRoom?.videoroom == "joined" && joined.videoRoom?.id == 6_831_699_017_079_664)
        #expect(joined.videoRoom?.streams?.map(\.mid) == ["0", "1"])
        let jsep = try #require(joined.jsep)
        #expect(jsep.type == "answer")
        // The answer is what SDPAnswer reads for the publisher's transport.
        let answer = try SDPAnswer(parsing: jsep.sdp)
        #expect(answer.ice.ufrag == "6L9m" && answer.ice.pwd == "srAjgEl3kR9Cqxj98ONTm1")
        #expect(answer.candidate.description == "127.0.0.1:40569")
        #expect(answer.section(mid: "0")?.payloadType == 111 && answer.section(mid: "1")?.payloadType == 96)
        #expect(answer.sections.allSatisfy { $0.direction == "recvonly" })
        #expect(jsep.sdp.contains("a=setup:passive\r\n") && jsep.sdp.contains("a=ice-lite\r\n"))
    }

    @Test func subscriberAttachedEventHasStreamsAndOffer() throws {
        let events = try JanusReply.events(parsing: JanusFixtures.subscriberAttached)
        let attached = try #require(events.first)
        #expect(attached.videoRoom?.videoroom == "attached" && attached.videoRoom?.room == 1_783_010_976_526_516)
        #expect(attached.videoRoom?.streams?.compactMap(\.feedID) == [4_187_214_361_816_616, 4_187_214_361_816_616])
        #expect(attached.videoRoom?.streams?.map(\.codec) == ["opus", "vp8"])
        #expect(attached.jsep?.type == "offer")
    }

    @Test func pluginErrorEvent() throws {
        let events = try JanusReply.events(parsing: JanusFixtures.noSuchFeed)
        #expect(events.first?.videoRoom?.errorCode == VideoRoomReply.noSuchFeed)
        #expect(events.first?.videoRoom?.error == "No such feed (1)")
    }

    @Test func idleLongPollIsOneKeepaliveObject() throws {
        // Janus answers a long poll with nothing to deliver after 30 s with a bare object.
        let events = try JanusReply.events(parsing: "{\n   \"janus\": \"keepalive\"\n}")
        #expect(events.map(\.janus) == ["keepalive"])
        #expect(try JanusReply.events(parsing: " []").isEmpty)
    }

    @Test func malformedRepliesThrowWhy() {
        for text in ["", "null", "[", "{}", #"{"janus": 5}"#, #"{"janus":"success","data":{"id":-1}}"#, #"{"janus":"success","data":{"id":"7"}}"#, "<html>"] {
            #expect(throws: LoadTestError.self, "\(text)") { try JanusReply(parsing: text) }
        }
        #expect(throws: LoadTestError.self) { try JanusReply.events(parsing: #"[{"janus":"event"}, 3]"#) }
        do {
            _ = try JanusReply(parsing: #"{"transaction":"x"}"#)
            Issue.record("parsed a reply without 'janus'")
        } catch {
            #expect("\(error)".contains("janus"), "\(error)")
        }
    }

    @Test func mutatedRepliesNeverCrash() {
        var generator = SplitMix64(seed: 0x4A61_6E75_73)
        let sources = [JanusFixtures.publisherJoined, JanusFixtures.subscriberAttached, JanusFixtures.roomCreated].map { Array($0.utf8) }
        for round in 0..<2000 {
            var bytes = sources[round % sources.count]
            let cuts = Int.random(in: 1...6, using: &generator)
            for _ in 0..<cuts {
                let at = Int.random(in: 0..<bytes.count, using: &generator)
                switch Int.random(in: 0..<3, using: &generator) {
                case 0: bytes[at] = UInt8.random(in: 0...255, using: &generator)
                case 1: bytes.removeSubrange(at..<min(bytes.count, at + Int.random(in: 1...40, using: &generator)))
                default: bytes = Array(bytes.prefix(at))
                }
                if bytes.isEmpty { break }
            }
            let text = String(decoding: bytes, as: UTF8.self)
            _ = try? JanusReply.events(parsing: text)
            _ = try? JanusReply(parsing: text)
        }
    }
}
