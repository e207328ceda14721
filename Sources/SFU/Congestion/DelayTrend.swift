// Is the path to us filling up? The delay-based half of GoogCC (draft-ietf-rmcat-gcc-02 §5,
// as libwebrtc implements it): packets sent within 5 ms of each other form a group; for
// consecutive groups the growth of one-way delay is (arrival delta − send delta); its running
// sum, smoothed, is fitted with a line over the last 20 groups, and a slope beyond an adaptive
// threshold means queues grow (overuse) or drain (underuse).
//
// Sans-IO and allocation-free per packet: times come in as milliseconds, the window is a
// preallocated ring.

struct DelayTrend {
    enum Signal: Equatable {
        case normal, overusing, underusing
    }

    /// Packets sent within this span of a group's first one belong to it (a paced burst).
    static let groupSpanMs = 5.0
    /// Groups the slope is fitted over, and the smoothing of the accumulated delay.
    static let windowSize = 20
    static let smoothing = 0.9
    /// libwebrtc's gain on the slope and the cap on the number of deltas it is scaled by.
    static let trendGain = 4.0
    static let maximumDeltas = 60.0
    /// Adaptive threshold: start, bounds, and how fast it follows the trend up and down.
    static let initialThreshold = 12.5
    static let thresholdBounds = 6.0...600.0
    static let thresholdUp = 0.0087
    static let thresholdDown = 0.039
    /// Overuse must last this long (and two groups) before it is signalled.
    static let overuseTimeMs = 10.0

    private(set) var signal = Signal.normal
    private(set) var threshold = initialThreshold

    // The group being filled and the last complete one.
    private var groupFirstSend = 0.0
    private var groupLastSend = 0.0
    private var groupLastArrival = 0.0
    private var groupOpen = false
    private var previousSend = 0.0
    private var previousArrival = 0.0
    private var hasPrevious = false

    private var firstArrival: Double?
    private var accumulatedDelay = 0.0
    private var smoothedDelay = 0.0
    private var deltas = 0
    private var window: [(x: Double, y: Double)]
    private var windowStart = 0
    private var windowCount = 0
    private var lastThresholdUpdate: Double?
    private var overuseStart: Double?
    private var overuseCount = 0
    private var previousTrend = 0.0

    init() {
        window = Array(repeating: (0, 0), count: Self.windowSize)
    }

    /// A packet sent at `sendMs` (the sender's clock) arrived at `arrivalMs` (ours).
    mutating func packet(sendMs: Double, arrivalMs: Double) {
        guard groupOpen else {
            openGroup(sendMs: sendMs, arrivalMs: arrivalMs)
            return
        }
        // Reordered from an earlier group: it says nothing about the queue now.
        if sendMs < groupFirstSend { return }
        if sendMs - groupFirstSend <= Self.groupSpanMs {
            groupLastSend = max(groupLastSend, sendMs)
            groupLastArrival = max(groupLastArrival, arrivalMs)
            return
        }
        // The group is complete: compare it with the one before.
        if hasPrevious {
            let sendDelta = groupLastSend - previousSend
            let arrivalDelta = groupLastArrival - previousArrival
            if sendDelta >= 0 { update(delayGrowth: arrivalDelta - sendDelta, arrivalMs: groupLastArrival) }
        }
        previousSend = groupLastSend
        previousArrival = groupLastArrival
        hasPrevious = true
        openGroup(sendMs: sendMs, arrivalMs: arrivalMs)
    }

    private mutating func openGroup(sendMs: Double, arrivalMs: Double) {
        groupFirstSend = sendMs
        groupLastSend = sendMs
        groupLastArrival = arrivalMs
        groupOpen = true
    }

    private mutating func update(delayGrowth: Double, arrivalMs: Double) {
        deltas = min(deltas + 1, Int(Self.maximumDeltas))
        accumulatedDelay += delayGrowth
        smoothedDelay = Self.smoothing * smoothedDelay + (1 - Self.smoothing) * accumulatedDelay
        let start = firstArrival ?? arrivalMs
        firstArrival = start
        let point = (x: arrivalMs - start, y: smoothedDelay)
        if windowCount < Self.windowSize {
            window[(windowStart + windowCount) % Self.windowSize] = point
            windowCount += 1
        } else {
            window[windowStart] = point
            windowStart = (windowStart + 1) % Self.windowSize
        }
        guard windowCount == Self.windowSize, let slope = fittedSlope() else { return }
        let trend = min(Double(deltas), Self.maximumDeltas) * slope * Self.trendGain
        detect(trend: trend, nowMs: arrivalMs)
    }

    /// Least-squares slope of the window's (arrival, smoothed delay) points.
    private func fittedSlope() -> Double? {
        var sumX = 0.0
        var sumY = 0.0
        for i in 0..<windowCount {
            sumX += window[i].x
            sumY += window[i].y
        }
        let meanX = sumX / Double(windowCount), meanY = sumY / Double(windowCount)
        var numerator = 0.0
        var denominator = 0.0
        for i in 0..<windowCount {
            let dx = window[i].x - meanX
            numerator += dx * (window[i].y - meanY)
            denominator += dx * dx
        }
        return denominator == 0 ? nil : numerator / denominator
    }

    private mutating func detect(trend: Double, nowMs: Double) {
        if trend > threshold {
            if overuseStart == nil { overuseStart = nowMs }
            overuseCount += 1
            // Only a trend that keeps rising for a while is congestion, not one burst.
            if let start = overuseStart, nowMs - start > Self.overuseTimeMs, overuseCount > 1, trend >= previousTrend {
                overuseStart = nil
                overuseCount = 0
                signal = .overusing
            }
        } else if trend < -threshold {
            overuseStart = nil
            overuseCount = 0
            signal = .underusing
        } else {
            overuseStart = nil
            overuseCount = 0
            signal = .normal
        }
        previousTrend = trend
        adaptThreshold(trend: trend, nowMs: nowMs)
    }

    /// The threshold follows the trend (slowly up, faster down), so that a path whose delay
    /// varies anyway, or a competing TCP flow, does not starve us (draft-ietf-rmcat-gcc-02 §5.4).
    private mutating func adaptThreshold(trend: Double, nowMs: Double) {
        let last = lastThresholdUpdate ?? nowMs
        lastThresholdUpdate = nowMs
        // A spike far beyond the threshold is not adapted to.
        if abs(trend) > threshold + 15 { return }
        let k = abs(trend) < threshold ? Self.thresholdDown : Self.thresholdUp
        let elapsed = min(nowMs - last, 100)
        threshold += k * (abs(trend) - threshold) * elapsed
        threshold = min(max(threshold, Self.thresholdBounds.lowerBound), Self.thresholdBounds.upperBound)
    }
}
