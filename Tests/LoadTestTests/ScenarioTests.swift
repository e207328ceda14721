// Presets, the peer arithmetic behind them, the caps, and how --rate grows a scenario.

import Testing
@testable import LoadTest

@Suite struct ScenarioTests {
    @Test func meetingIsTenParticipantsSeeingEachOther() {
        let meeting = Scenario.preset(.meeting)
        #expect(meeting.publishers == 10)
        #expect(meeting.subscriptions == 90)
        #expect(meeting.transports == 100)
    }

    @Test func livestreamAndSmallRooms() {
        let live = Scenario.preset(.livestream, subscribers: 50)
        #expect(live.publishers == 1 && live.subscriptions == 50 && live.transports == 51)
        let small = Scenario.preset(.smallRooms)
        #expect(small.rooms == 20 && small.transports == 20 * (3 + 6))
        #expect(Scenario.preset(.smallRooms, publishers: 2).subscriptionsPerRoom == 2)
    }

    @Test func customListenersSubscribeToEveryPublisher() {
        let custom = Scenario.preset(.custom, rooms: 3, publishers: 2, subscribers: 4)
        #expect(custom.subscriptions == 3 * 2 * 4)
        #expect(custom.transports == 3 * (2 + 8))
    }

    @Test func limitsAreEnforced() throws {
        try Scenario.preset(.custom, rooms: 1, publishers: 1, subscribers: 1999).validate()
        #expect(throws: LoadTestError.self) { try Scenario.preset(.custom, rooms: 1, publishers: 1, subscribers: 2000).validate() }
        #expect(throws: LoadTestError.self) { try Scenario.preset(.meeting, publishers: 45).validate() }
        #expect(throws: LoadTestError.self) { try Scenario.preset(.custom, subscribers: 0).validate() }
        #expect(throws: LoadTestError.self) { try Scenario.preset(.meeting, publishers: 1).validate() }
        #expect(throws: LoadTestError.self) { try Scenario.preset(.custom, rooms: 0).validate() }
    }

    @Test func optionsAreBoundedInTime() throws {
        let server = LoopbackServer(port: 8080)
        let base = LoadTestOptions(server: server, jwtSecret: "s", scenario: .preset(.custom), duration: 600)
        try base.validate()
        var long = base
        long.duration = 601
        #expect(throws: LoadTestError.self) { try long.validate() }
        var noSecret = base
        noSecret.jwtSecret = ""
        #expect(throws: LoadTestError.self) { try noSecret.validate() }
        var steps = base
        steps.maxSteps = 51
        #expect(throws: LoadTestError.self) { try steps.validate() }
    }

    @Test func rampGrowsRoomsOrSubscribers() {
        let live = Scenario.preset(.livestream, subscribers: 10)
        #expect(RampGrowth.natural(for: live) == .subscribers)
        #expect(RampGrowth.subscribers.scenario(base: live, step: 3).subscriptions == 30)
        let small = Scenario.preset(.smallRooms, rooms: 5)
        #expect(RampGrowth.natural(for: small) == .rooms)
        #expect(RampGrowth.rooms.scenario(base: small, step: 4).rooms == 20)
        #expect(RampGrowth.natural(for: .preset(.meeting)) == .rooms)
    }
}
