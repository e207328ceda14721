// The allocator alone: audio first, video by priority (screen share, speaker, others) one layer
// at a time, pauses when even the lowest layer does not fit, hysteresis on the way up, and what a probe should aim for.

import Testing
@testable import SFU

@Suite struct BandwidthAllocatorTests {
    typealias Track = BandwidthAllocator.Track
    /// A camera's three layers as Chromium sends them (q, h, f).
    static let layers: [Double?] = [150_000, 500_000, 1_500_000]

    static func audio() -> Track { Track(isAudio: true, priority: 0, layerBitrates: [40_000], maximumLayer: 0, current: 0) }
    static func video(priority: Int = 0, maximum: Int = 2, current: Int? = 2, layers: [Double?] = layers) -> Track {
        Track(isAudio: false, priority: priority, layerBitrates: layers, maximumLayer: maximum, current: current)
    }

    @Test func plentyGivesEveryVideoWhatItWants() {
        let result = BandwidthAllocator.allocate(
            budget: 10_000_000, tracks: [Self.audio(), Self.video(), Self.video(maximum: 0, current: 0)])
        #expect(result.decisions == [.layer(0), .layer(2), .layer(0)])
        #expect(result.wanted == nil)
    }

    @Test func audioIsNeverPausedEvenWhenNothingFits() {
        let result = BandwidthAllocator.allocate(budget: 10_000, tracks: [Self.audio(), Self.video(current: nil)])
        #expect(result.decisions == [.layer(0), .paused])
        // The next step: audio plus the lowest layer, with the resume's headroom.
        #expect(result.wanted == 40_000 + 150_000 * BandwidthAllocator.upgradeHeadroom)
    }

    @Test func theSpeakersVideoClimbsFirst() {
        // 40 k audio + 150 k + 500 k fits (plus headroom for neither being above current).
        let tracks = [Self.audio(), Self.video(priority: 0, current: 0), Self.video(priority: 1, current: 0)]
        let result = BandwidthAllocator.allocate(budget: 40_000 + 150_000 + 500_000 * 1.15 + 10_000, tracks: tracks)
        #expect(result.decisions == [.layer(0), .layer(0), .layer(1)])
        #expect(result.wanted != nil)
    }

    @Test func layersAreSpreadOneStepAtATime() {
        // Room for both at layer 1, or one at layer 2: equal priorities get 1 and 1.
        let tracks = [Self.video(current: 1), Self.video(current: 1)]
        let result = BandwidthAllocator.allocate(budget: 1_100_000, tracks: tracks)
        #expect(result.decisions == [.layer(1), .layer(1)])
    }

    @Test func aLowerPriorityVideoIsPausedFirst() {
        let tracks = [Self.audio(), Self.video(priority: 0, current: 0), Self.video(priority: 1, current: 0)]
        let result = BandwidthAllocator.allocate(budget: 250_000, tracks: tracks)
        #expect(result.decisions == [.layer(0), .paused, .layer(0)])
    }

    @Test func goingUpNeedsHeadroomButStayingDoesNot() {
        // Exactly layer 2's cost: a consumer on 2 keeps it, one on 1 does not climb.
        let staying = BandwidthAllocator.allocate(budget: 1_500_000, tracks: [Self.video(current: 2)])
        #expect(staying.decisions == [.layer(2)])
        let climbing = BandwidthAllocator.allocate(budget: 1_500_000, tracks: [Self.video(current: 1)])
        #expect(climbing.decisions == [.layer(1)])
        #expect(climbing.wanted == 1_500_000 * BandwidthAllocator.upgradeHeadroom)
        // A paused video resumes only with headroom too.
        let paused = BandwidthAllocator.allocate(budget: 160_000, tracks: [Self.video(current: nil)])
        #expect(paused.decisions == [.paused])
        let resumed = BandwidthAllocator.allocate(budget: 180_000, tracks: [Self.video(current: nil)])
        #expect(resumed.decisions == [.layer(0)])
    }

    @Test func onlyLayersThatArriveAreGiven() {
        // The publisher stopped its top layer; the subscriber wants at most layer 1.
        let stopped = BandwidthAllocator.allocate(
            budget: 10_000_000, tracks: [Self.video(current: 1, layers: [150_000, 500_000, nil])])
        #expect(stopped.decisions == [.layer(1)])
        let capped = BandwidthAllocator.allocate(budget: 10_000_000, tracks: [Self.video(maximum: 1, current: 1)])
        #expect(capped.decisions == [.layer(1)])
        // Nothing arrives yet: nothing to measure, nothing to pause.
        let silent = BandwidthAllocator.allocate(budget: 1_000, tracks: [Self.video(current: nil, layers: [nil, nil, nil])])
        #expect(silent.decisions == [.layer(2)])
        // An arriving layer not measured yet is not free.
        let unmeasured = BandwidthAllocator.allocate(budget: 100_000, tracks: [Self.video(current: nil, layers: [0])])
        #expect(unmeasured.decisions == [.paused])
    }

    @Test func whatFlowsIsKeptWhenTheEstimateSitsJustUnderIt() {
        // A lossy link's estimate, held at what got through: 5 % under what is sent.
        let single: [Double?] = [400_000]
        let budget = 0.95 * 440_000
        let kept = BandwidthAllocator.allocate(budget: budget, tracks: [Self.audio(), Self.video(maximum: 0, current: 0, layers: single)])
        #expect(kept.decisions == [.layer(0), .layer(0)])
        // Not when it is well under.
        let paused = BandwidthAllocator.allocate(budget: 0.75 * 440_000, tracks: [Self.audio(), Self.video(maximum: 0, current: 0, layers: single)])
        #expect(paused.decisions == [.layer(0), .paused])
    }

    @Test func aScreenShareComesBeforeTheSpeakerWhoComesBeforeTheOthers() {
        let screen = BandwidthAllocator.priority(source: .screen, isSpeaker: false)
        let speaker = BandwidthAllocator.priority(source: .camera, isSpeaker: true)
        let other = BandwidthAllocator.priority(source: .camera, isSpeaker: false)
        #expect(screen > speaker && speaker > other)
        // The speaker's own screen share is a screen share first.
        #expect(BandwidthAllocator.priority(source: .screen, isSpeaker: true) == screen)
    }

    /// A subscriber's tracks in the order its m-lines came (the screen share last, as a share
    /// started mid-call is), with issue 14's priorities.
    static func sharedCall(current: Int? = 0) -> [Track] {
        [Self.audio(),
         Self.video(priority: BandwidthAllocator.priority(source: .camera, isSpeaker: false), current: current),
         Self.video(priority: BandwidthAllocator.priority(source: .camera, isSpeaker: true), current: current),
         Self.video(priority: BandwidthAllocator.priority(source: .screen, isSpeaker: false), current: current)]
    }

    @Test func underABudgetForSomeTheScreenShareKeepsItsVideoFirst() {
        // Audio and one lowest layer (with room to keep it): only the screen share.
        let one = BandwidthAllocator.allocate(budget: 40_000 + 150_000 + 50_000, tracks: Self.sharedCall())
        #expect(one.decisions == [.layer(0), .paused, .paused, .layer(0)])
        // Two lowest layers: the screen share and the speaker; the other camera is paused.
        let two = BandwidthAllocator.allocate(budget: 40_000 + 2 * 150_000 + 50_000, tracks: Self.sharedCall())
        #expect(two.decisions == [.layer(0), .paused, .layer(0), .layer(0)])
        // All three lowest and one step more: the screen share climbs, the cameras stay low.
        let step = BandwidthAllocator.allocate(budget: 40_000 + 3 * 150_000 + (500_000 * 1.15 - 150_000) + 10_000, tracks: Self.sharedCall())
        #expect(step.decisions == [.layer(0), .layer(0), .layer(0), .layer(1)])
        // Nothing but audio fits: video pauses, the screen share with it (never audio).
        let none = BandwidthAllocator.allocate(budget: 100_000, tracks: Self.sharedCall())
        #expect(none.decisions == [.layer(0), .paused, .paused, .paused])
    }

    @Test func nothingOfLowerPriorityFlowsWhileAScreenShareIsPaused() {
        // A single-layer screen share of 400 k does not fit; the cameras' 150 k lowest layers
        // would. They wait: the probe aims at the screen share's resume, not at a camera's.
        let screen = Self.video(
            priority: BandwidthAllocator.priority(source: .screen, isSpeaker: false), maximum: 0, current: nil, layers: [400_000])
        let tracks = [Self.audio(), Self.video(current: 0), screen, Self.video(priority: 1, current: 0)]
        let result = BandwidthAllocator.allocate(budget: 40_000 + 300_000, tracks: tracks)
        #expect(result.decisions == [.layer(0), .paused, .paused, .paused])
        #expect(result.wanted == 40_000 + 400_000 * BandwidthAllocator.upgradeHeadroom)
        // Videos of one priority still go each by itself: a cheaper one fits beside a paused one.
        let peers = [Self.video(current: nil, layers: [400_000]), Self.video(current: 0)]
        #expect(BandwidthAllocator.allocate(budget: 300_000, tracks: peers).decisions == [.paused, .layer(0)])
    }

    @Test func aPausedScreenShareResumesBeforeACameraThatFlows() {
        // The screen share was paused, the speaker's camera flows: a budget for one lowest
        // layer with resume headroom goes to the screen share.
        var tracks = Self.sharedCall(current: nil)
        tracks[2].current = 0
        let result = BandwidthAllocator.allocate(budget: 40_000 + 150_000 * 1.15 + 10_000, tracks: tracks)
        #expect(result.decisions == [.layer(0), .paused, .paused, .layer(0)])
    }

    @Test func aSingleLayerVideoIsPausedAndResumedWhole() {
        let single: [Double?] = [800_000]
        let paused = BandwidthAllocator.allocate(budget: 500_000, tracks: [Self.audio(), Self.video(maximum: 0, current: 0, layers: single)])
        #expect(paused.decisions == [.layer(0), .paused])
        let resumed = BandwidthAllocator.allocate(budget: 1_000_000, tracks: [Self.audio(), Self.video(maximum: 0, current: nil, layers: single)])
        #expect(resumed.decisions == [.layer(0), .layer(0)])
    }
}

@Suite struct ProbeControllerTests {
    let start = ContinuousClock.now

    @Test func aProbeStartsWhenMoreIsWantedThanEstimated() {
        var probe = ProbeController()
        probe.update(wanted: nil, allocated: 200_000, estimate: 300_000, now: start)
        #expect(!probe.isProbing)
        probe.update(wanted: 250_000, allocated: 200_000, estimate: 300_000, now: start)
        #expect(!probe.isProbing, "the estimate already covers it")
        probe.update(wanted: 700_000, allocated: 200_000, estimate: 300_000, now: start)
        #expect(probe.isProbing)
        // A large step: half as much again as the media, at least 100 k.
        #expect(probe.paddingRate == 100_000)
        probe.update(wanted: nil, allocated: 200_000, estimate: 300_000, now: start + .milliseconds(500))
        #expect(!probe.isProbing && probe.paddingRate == 0, "nothing wanted any more")
    }

    @Test func aSmallStepIsProbedForExactlyAndSuccessLetsTheNextFollowSoon() {
        var probe = ProbeController()
        probe.update(wanted: 600_000, allocated: 500_000, estimate: 550_000, now: start)
        #expect(probe.paddingRate == 600_000 * 1.1 - 500_000)
        probe.update(wanted: 600_000, allocated: 500_000, estimate: 620_000, now: start + .milliseconds(1500))
        #expect(!probe.isProbing && probe.failures == 0)
        probe.update(wanted: 900_000, allocated: 600_000, estimate: 620_000, now: start + .milliseconds(2600))
        #expect(probe.isProbing && probe.probes == 2)
    }

    @Test func noProbeStartsRightAfterCongestion() {
        var probe = ProbeController()
        probe.congestion(now: start)
        probe.update(wanted: 600_000, allocated: 100_000, estimate: 150_000, now: start + .seconds(3))
        #expect(!probe.isProbing)
        // Congestion goes on: the quiet time runs from its last sign.
        probe.congestion(now: start + .seconds(3))
        probe.update(wanted: 600_000, allocated: 100_000, estimate: 150_000, now: start + .seconds(5))
        #expect(!probe.isProbing)
        probe.update(wanted: 600_000, allocated: 100_000, estimate: 150_000, now: start + .seconds(7))
        #expect(probe.isProbing)
    }

    @Test func congestionEndsAProbeAndBacksOffLongerEachTime() {
        var probe = ProbeController()
        var now = start
        var gaps: [Duration] = []
        var lastStart = now
        for _ in 0..<6 {
            probe.update(wanted: 1_000_000, allocated: 300_000, estimate: 400_000, now: now)
            #expect(probe.isProbing)
            // The feedback shows queues: the probe stops at once.
            now += .milliseconds(300)
            probe.congestion(now: now)
            #expect(!probe.isProbing && probe.paddingRate == 0)
            // The next one waits for its backoff.
            while !probe.isProbing {
                now += .milliseconds(500)
                probe.update(wanted: 1_000_000, allocated: 300_000, estimate: 400_000, now: now)
            }
            gaps.append(now - lastStart)
            lastStart = now
        }
        #expect(probe.failures == 6)
        #expect(zip(gaps, gaps.dropFirst()).allSatisfy { $1 >= $0 }, "\(gaps)")
        #expect(gaps.last! <= ProbeController.maximumBackoff + .seconds(1))
        #expect(gaps.first! < .seconds(10) && gaps.last! > .seconds(25))
    }
}
