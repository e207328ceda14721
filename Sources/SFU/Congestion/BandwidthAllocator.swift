// Divides one subscriber's downlink estimate among the tracks it receives. Audio is never
// throttled: its bitrate comes off the top. Video then goes by priority (a screen share, then
// the room's active speaker's video, then the others: `priority(source:isSpeaker:)`): first
// every video gets its lowest layer that arrives, in priority order, while the budget lasts (a
// video that does not fit is paused, and so is every video of lower priority: a camera's small
// lowest layer that still fits beside a paused screen share would take what the screen share
// needs to come back, and the probe would aim at the camera); then, round after round, each
// video in priority order climbs one layer if the step fits, until no step does. So a
// higher-priority video is never worse off than a lower one, and the budget is spread one
// layer at a time rather than all to the first.
//
// Hysteresis: a step above what a consumer forwards now (or a resume) must fit with
// `upgradeHeadroom` to spare; holding or going down needs only the bitrate itself. With the
// estimate moving by a few percent a second, a video does not flap between two layers.
// Sans-IO: bitrates in, decisions out; the caller measures and applies.

struct BandwidthAllocator {
    /// A step up must fit this many times its cost (15 % spare).
    static let upgradeHeadroom = 1.15
    /// What a video forwards now is kept while its cost is within this share above what is
    /// left: an estimate held at what got through on a slightly lossy link sits a few percent
    /// under what is sent, and that must not cost the only layer there is.
    static let keepTolerance = 1.15
    /// A layer that arrives but has not been measured yet counts as this much (a camera's
    /// lowest simulcast layer is ~100-150 kbit/s), so an unknown layer is not free.
    static let unmeasuredLayerBitrate = 150_000.0

    struct Track: Equatable {
        var isAudio: Bool
        /// Higher goes first (`priority(source:isSpeaker:)`).
        var priority: Int
        /// Bits per second of each spatial layer as the publisher sends it now, lowest first;
        /// nil for a layer that does not arrive.
        var layerBitrates: [Double?]
        /// The highest layer the subscriber wants (its preference; the top one without).
        var maximumLayer: Int
        /// What it forwards (or waits to switch to) now; nil while paused by the allocator.
        var current: Int?
    }

    enum Decision: Equatable {
        case layer(Int)
        case paused
    }

    struct Result: Equatable {
        var decisions: [Decision]
        /// What the subscriber would need for the next step that did not fit (bit/s in total,
        /// beside what is allocated): the target of a bandwidth probe. Nil when every video got
        /// what it wants.
        var wanted: Double?
    }

    /// Issue 14's order: a screen share first (text that drops to a thumbnail or freezes is
    /// unreadable, while a face at its lowest layer still tells who speaks), then the active
    /// speaker's video, then the others.
    static func priority(source: TrackSource, isSpeaker: Bool) -> Int {
        source == .screen ? 2 : isSpeaker ? 1 : 0
    }

    /// `budget`: the subscriber's estimated downlink in bits per second.
    static func allocate(budget: Double, tracks: [Track]) -> Result {
        var decisions = [Decision](repeating: .paused, count: tracks.count)
        var remaining = budget
        for (index, track) in tracks.enumerated() where track.isAudio {
            decisions[index] = .layer(0)
            remaining -= track.layerBitrates.first.flatMap { $0 } ?? 0
        }
        // Stable: equal priorities keep the subscriber's own order.
        let videos = tracks.indices.filter { !tracks[$0].isAudio }
            .sorted { tracks[$0].priority > tracks[$1].priority || (tracks[$0].priority == tracks[$1].priority && $0 < $1) }
        var wanted: Double?
        func want(_ cost: Double) {
            let total = budget - remaining + cost
            wanted = min(wanted ?? total, total)
        }

        // Each video's ladder: the layers that arrive, up to what it wants (or, when none up to
        // that arrives, the lowest one above, as the consumer would pick itself).
        var ladders: [Int: [Int]] = [:]
        var steps: [Int: Int] = [:]
        // The priority of the first video paused: everything below it waits.
        var pausedPriority: Int?
        for index in videos {
            let track = tracks[index]
            let arriving = track.layerBitrates.indices.filter { track.layerBitrates[$0] != nil }
            var ladder = arriving.filter { $0 <= track.maximumLayer }
            if ladder.isEmpty, let above = arriving.first { ladder = [above] }
            if ladder.isEmpty {
                // Nothing arrives yet: nothing to spend, and nothing to pause for.
                decisions[index] = .layer(min(track.maximumLayer, max(0, track.layerBitrates.count - 1)))
                continue
            }
            ladders[index] = ladder
            if let pausedPriority, track.priority < pausedPriority { continue }
            let cost = bitrate(track, ladder[0])
            let required = track.current == nil ? cost * upgradeHeadroom : track.current == ladder[0] ? cost / keepTolerance : cost
            if required <= remaining {
                remaining -= cost
                steps[index] = 0
                decisions[index] = .layer(ladder[0])
            } else {
                want(required)
                pausedPriority = pausedPriority ?? track.priority
            }
        }

        var climbed = true
        while climbed {
            climbed = false
            for index in videos {
                guard let step = steps[index], let ladder = ladders[index], step + 1 < ladder.count else { continue }
                let track = tracks[index]
                let from = bitrate(track, ladder[step]), to = bitrate(track, ladder[step + 1])
                let isUpgrade = track.current.map { ladder[step + 1] > $0 } ?? true
                let isKept = track.current == ladder[step + 1]
                let required = isUpgrade ? to * upgradeHeadroom - from : isKept ? to / keepTolerance - from : to - from
                if required <= remaining {
                    remaining -= to - from
                    steps[index] = step + 1
                    decisions[index] = .layer(ladder[step + 1])
                    climbed = true
                } else {
                    want(required)
                }
            }
        }
        return Result(decisions: decisions, wanted: wanted)
    }

    private static func bitrate(_ track: Track, _ layer: Int) -> Double {
        let measured = track.layerBitrates[layer] ?? 0
        return measured > 0 ? measured : unmeasuredLayerBitrate
    }
}
