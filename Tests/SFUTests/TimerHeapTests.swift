// The worker's timer order: earliest deadline first, deadlines that move either way, removal
// from anywhere, one entry per object; checked against a plain sorted list over many random
// operations. Then the core: a tick runs only the transports that are due.

import Testing
@testable import SFU
import SFUTesting

private final class Timed: TimerHeapElement {
    let name: Int
    var timerSlot = -1
    init(_ name: Int) { self.name = name }
}

@Suite struct TimerHeapTests {
    let start = ContinuousClock.now

    @Test func popsInDeadlineOrderOnlyWhenDue() {
        let heap = TimerHeap<Timed>()
        let items = (0..<5).map(Timed.init)
        for (item, ms) in zip(items, [40, 10, 30, 20, 50]) { heap.schedule(item, at: start + .milliseconds(ms)) }
        #expect(heap.count == 5)
        #expect(heap.earliest == start + .milliseconds(10))
        #expect(heap.popDue(now: start + .milliseconds(5)) == nil)
        var popped: [Int] = []
        while let item = heap.popDue(now: start + .milliseconds(35)) { popped.append(item.name) }
        #expect(popped == [1, 3, 2])
        #expect(heap.count == 2)
        #expect(items[1].timerSlot == -1 && !heap.contains(items[1]))
    }

    @Test func deadlinesMoveBothWaysWithOneEntryEach() {
        let heap = TimerHeap<Timed>()
        let a = Timed(0), b = Timed(1), c = Timed(2)
        heap.schedule(a, at: start + .seconds(1))
        heap.schedule(b, at: start + .seconds(2))
        heap.schedule(c, at: start + .seconds(3))
        heap.schedule(c, at: start)  // earlier
        heap.schedule(a, at: start + .seconds(5))  // later
        #expect(heap.count == 3)
        heap.scheduleNoLaterThan(b, at: start + .seconds(4))  // later: stays at 2 s
        #expect(heap.due(of: b) == start + .seconds(2))
        heap.scheduleNoLaterThan(b, at: start + .milliseconds(500))
        #expect(heap.due(of: b) == start + .milliseconds(500))
        var order: [Int] = []
        while let item = heap.popDue(now: start + .seconds(10)) { order.append(item.name) }
        #expect(order == [2, 1, 0])
    }

    @Test func removalFromAnywhereKeepsTheOrder() {
        let heap = TimerHeap<Timed>()
        let items = (0..<9).map(Timed.init)
        for item in items { heap.schedule(item, at: start + .milliseconds(item.name * 7 % 9)) }
        heap.remove(items[4])
        heap.remove(items[4])  // not there any more: nothing happens
        heap.remove(items[0])
        #expect(heap.count == 7)
        var dues: [Int] = []
        while let item = heap.popDue(now: start + .seconds(1)) { dues.append(item.name * 7 % 9) }
        #expect(dues == dues.sorted() && dues.count == 7)
    }

    @Test func randomOperationsMatchASortedList() {
        var rng = SystemRandomNumberGenerator()
        let heap = TimerHeap<Timed>()
        let items = (0..<64).map(Timed.init)
        var model: [Int: Int] = [:]  // name -> due in ms
        for _ in 0..<5_000 {
            let item = items[Int.random(in: 0..<items.count, using: &rng)]
            switch Int.random(in: 0..<10, using: &rng) {
            case 0..<5:
                let due = Int.random(in: 0..<1_000, using: &rng)
                heap.schedule(item, at: start + .milliseconds(due))
                model[item.name] = due
            case 5..<7:
                let due = Int.random(in: 0..<1_000, using: &rng)
                heap.scheduleNoLaterThan(item, at: start + .milliseconds(due))
                model[item.name] = min(model[item.name] ?? .max, due)
            case 7..<9:
                heap.remove(item)
                model[item.name] = nil
            default:
                let now = Int.random(in: 0..<1_000, using: &rng)
                let expected = model.filter { $0.value <= now }.sorted { ($0.value, $0.key) < ($1.value, $1.key) }
                var popped: [(name: Int, due: Int)] = []
                while let next = heap.popDue(now: start + .milliseconds(now)) {
                    popped.append((next.name, model[next.name]!))
                    model[next.name] = nil
                }
                // Equal deadlines may come out in any order; the deadlines must not.
                #expect(popped.map(\.due) == expected.map(\.value))
                #expect(Set(popped.map(\.name)) == Set(expected.map(\.key)))
            }
            #expect(heap.count == model.count)
            for item in items { #expect(heap.due(of: item) == model[item.name].map { start + .milliseconds($0) }) }
        }
    }

    @Test func aTickRunsOnlyTheTransportsThatAreDue() throws {
        let call = try CallFixture()
        let core = call.core
        let participant = try #require(core.routers[CallFixture.room]?.participants[CallFixture.publisherID])
        let publisherTransport = participant.transport
        let subscriberTransport = try #require(participant.subscriptions[CallFixture.subscriptionID]?.transport)
        // Both transports are scheduled, once each; input (the last handshake packets) brought
        // them forward to now, and a tick runs them and moves them into the future.
        #expect(core.timers.count == 2)
        core.handleTimeout(now: call.net.now, wallClockNanoseconds: 0)
        #expect(core.timers.count == 2)
        let publisher = try #require(core.timers.due(of: publisherTransport))
        let subscriber = try #require(core.timers.due(of: subscriberTransport))
        // Connected transports wait for their next RTCP report or ICE deadline.
        #expect(publisher > call.net.now && subscriber > call.net.now)
        #expect(publisher <= call.net.now + .seconds(1) && subscriber <= call.net.now + .seconds(1))
        // A tick before either is due runs nothing and leaves both where they were.
        core.handleTimeout(now: call.net.now + .milliseconds(1), wallClockNanoseconds: 0)
        #expect(core.timers.due(of: publisherTransport) == publisher)
        #expect(core.timers.due(of: subscriberTransport) == subscriber)
        // Their deadlines keep coming round while the call runs (reports every second).
        call.net.advance(by: .seconds(3))
        #expect(core.timers.count == 2)
        #expect(try #require(core.timers.due(of: publisherTransport)) > publisher)
        // A transport that goes leaves the timers.
        try core.unsubscribe(room: CallFixture.room, participantID: CallFixture.publisherID, subscriptionID: CallFixture.subscriptionID)
        #expect(core.timers.count == 1)
    }
}
