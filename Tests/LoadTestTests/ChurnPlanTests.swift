// `--churn`'s choices: rooms below their size fill up, full rooms lose or mute publishers, and
// over a run joins and leaves balance so the population stays near the scenario's.

import ChorusTestSupport
import Testing
@testable import LoadTest

@Suite struct ChurnPlanTests {
    typealias Member = (audioMuted: Bool, videoMuted: Bool)

    @Test func aRoomBelowItsSizeGetsAJoin() {
        var random = SeededGenerator(seed: 1)
        let plan = ChurnPlan(publishersPerRoom: 2)
        var joins = 0
        for _ in 0..<100 {
            let operation = plan.next(publishers: [[], [(false, false), (false, false)]], using: &random)
            if operation.room == 0 {
                #expect(operation == .join(room: 0))
                joins += 1
            } else {
                #expect(operation != .join(room: 1), "room 1 is full")
            }
        }
        #expect(joins > 20)
    }

    @Test func fullRoomsLeaveOrMuteAndMutesFlip() {
        var random = SeededGenerator(seed: 2)
        let plan = ChurnPlan(publishersPerRoom: 2)
        let rooms: [[Member]] = [[(false, true), (true, false)]]
        var leaves = 0
        var mutes = 0
        for _ in 0..<1000 {
            switch plan.next(publishers: rooms, using: &random) {
            case .join: Issue.record("a full room got a join")
            case .leave(let room, let publisher):
                #expect(room == 0 && (0..<2).contains(publisher))
                leaves += 1
            case .mute(_, let publisher, let video, let muted):
                let current = video ? rooms[0][publisher].videoMuted : rooms[0][publisher].audioMuted
                #expect(muted == !current, "a mute flips the state the publisher is in")
                mutes += 1
            }
        }
        #expect(leaves > 400 && mutes > 400)
    }

    @Test func thePopulationStaysNearTheScenariosOverALongRun() {
        var random = SeededGenerator(seed: 3)
        let plan = ChurnPlan(publishersPerRoom: 3)
        var rooms: [[Member]] = Array(repeating: Array(repeating: (false, false), count: 3), count: 4)
        var joins = 0
        var leaves = 0
        for _ in 0..<10_000 {
            switch plan.next(publishers: rooms, using: &random) {
            case .join(let room):
                rooms[room].append((false, false))
                joins += 1
            case .leave(let room, let publisher):
                rooms[room].remove(at: publisher)
                leaves += 1
            case .mute(let room, let publisher, let video, let muted):
                if video { rooms[room][publisher].videoMuted = muted } else { rooms[room][publisher].audioMuted = muted }
            }
            #expect(rooms.allSatisfy { $0.count >= 2 && $0.count <= 3 })
        }
        #expect(abs(joins - leaves) <= 4)
        #expect(joins > 1000)
    }

    @Test func churnOptionsAreChecked() throws {
        let server = LoopbackServer(port: 8080)
        var options = LoadTestOptions(server: server, jwtSecret: "s", scenario: .preset(.custom), duration: 1800)
        options.churn = ChurnSettings(operationsPerSecond: 2)
        try options.validate()
        options.duration = 3601
        #expect(throws: LoadTestError.self) { try options.validate() }
        options.duration = 60
        options.churn = ChurnSettings(operationsPerSecond: 0)
        #expect(throws: LoadTestError.self) { try options.validate() }
        options.churn = ChurnSettings(operationsPerSecond: 2)
        options.scenario = .preset(.meeting)
        #expect(throws: LoadTestError.self) { try options.validate() }
        options.scenario = .preset(.custom)
        options.ramp = .rooms
        #expect(throws: LoadTestError.self) { try options.validate() }
    }
}

private extension ChurnOperation {
    var room: Int {
        switch self {
        case .join(let room), .leave(let room, _), .mute(let room, _, _, _): room
        }
    }
}
