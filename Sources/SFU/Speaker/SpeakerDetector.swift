// Who is speaking in a room. Chorus uses the percentile method (as LiveKit does) rather than
// the dominant speaker identification of Volfin and Cohen that mediasoup and Jitsi use: every
// interval each audio producer gets the share of its packets whose RFC 6464 level was speech
// (AudioLevelMeter), smoothed over a few intervals. That is a percentile of the level
// distribution: it ignores a cough or a door (a few loud packets) and a voice that dips
// between words still counts, and it needs only two counters per packet; the dominant-speaker
// algorithm's three time scales of activity bins buy finer decisions in large rooms at much
// more bookkeeping.
//
// The dominant speaker has hysteresis: a challenger takes over only when its score beats the
// speaker's by `margin` on `confirmations` intervals in a row, so two people talking over each
// other do not make tiles flicker. Silence does not clear it: the last speaker stays dominant
// (what a "speaker view" wants) until someone else speaks. Sans-IO: the caller passes the
// windows and the time.

struct SpeakerDetector {
    static let interval: Duration = .milliseconds(250)
    /// Weight of the newest window in the smoothed score (about three windows' memory).
    static let smoothing = 0.5
    /// A score at least this high is someone speaking.
    static let speakingScore = 0.3
    static let margin = 0.2
    static let confirmations = 2
    /// Scores under this are not listed in the audio levels.
    static let audibleScore = 0.05

    private(set) var dominant: String?
    private(set) var scores: [String: Double] = [:]
    private var challenger: (id: String, count: Int)?

    /// One interval's windows: participant id → share of speech packets (nil: no packets).
    /// Returns the new dominant speaker when it changed.
    mutating func update(_ windows: [String: Double?]) -> String?? {
        var next: [String: Double] = [:]
        for (id, window) in windows {
            let previous = scores[id] ?? 0
            next[id] = previous + Self.smoothing * ((window ?? 0) - previous)
        }
        scores = next
        if let current = dominant, scores[current] == nil {
            // The speaker left: the loudest remaining speaker (or nobody) takes over at once.
            dominant = loudest(minimum: Self.speakingScore)
            challenger = nil
            return .some(dominant)
        }
        guard let (id, score) = loudestEntry(), score >= Self.speakingScore, id != dominant else {
            challenger = nil
            return nil
        }
        guard let current = dominant else {
            dominant = id
            return .some(id)
        }
        guard score >= (scores[current] ?? 0) + Self.margin else {
            challenger = nil
            return nil
        }
        let count = challenger?.id == id ? challenger!.count + 1 : 1
        guard count >= Self.confirmations else {
            challenger = (id, count)
            return nil
        }
        challenger = nil
        dominant = id
        return .some(id)
    }

    /// The audible participants, loudest first, at most `limit`.
    func levels(limit: Int) -> [(id: String, level: Double)] {
        scores.filter { $0.value >= Self.audibleScore }
            .sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            .prefix(limit).map { (id: $0.key, level: $0.value) }
    }

    private func loudestEntry() -> (String, Double)? {
        scores.max { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }.map { ($0.key, $0.value) }
    }

    private func loudest(minimum: Double) -> String? {
        loudestEntry().flatMap { $0.1 >= minimum ? $0.0 : nil }
    }
}
