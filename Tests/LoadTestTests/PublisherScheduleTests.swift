// A publisher's timing on a fake clock: 20 ms audio, frames every 1/30 s paced at 2.5x the
// bitrate, fresh numbering, keyframe requests, and skipping ahead instead of bursting.

import RTP
import Testing
@testable import LoadTest

@Suite struct PublisherScheduleTests {
    /// 2 s: audio packets of 100 bytes; a 10-packet keyframe, then 2-packet delta frames.
    static func clip() -> MediaClip {
        let settings = ClipSettings()
        let audio = (0..<100).map { _ in ClipPacket(payload: [UInt8](repeating: 0, count: 100), hasTrailer: true) }
        let video = (0..<60).map { index in
            ClipVideoFrame(
                packets: (0..<(index == 0 ? 10 : 2)).map { _ in ClipPacket(payload: [UInt8](repeating: 0, count: 1000), hasTrailer: false) },
                isKeyframe: index == 0, encodedSize: index == 0 ? 10_000 : 2000)
        }
        return MediaClip(settings: settings, audio: audio, video: video)
    }

    /// Steps a fake clock in 1 ms ticks and collects what is due.
    static func run(_ schedule: inout PublisherSchedule, from start: UInt64, milliseconds: Int) -> [(UInt64, PublisherSchedule.Packet)] {
        var sent: [(UInt64, PublisherSchedule.Packet)] = []
        for ms in 0..<milliseconds {
            let now = start + UInt64(ms) * 1_000_000
            while let packet = schedule.next(now: now) { sent.append((now, packet)) }
        }
        return sent
    }

    @Test func audioEveryTwentyMillisecondsWithFreshNumbering() throws {
        var schedule = PublisherSchedule(clip: Self.clip(), start: 1_000_000_000, seed: 1)
        let audio = Self.run(&schedule, from: 1_000_000_000, milliseconds: 1000).map(\.1).filter { !$0.isVideo }
        #expect(audio.count == 50 || audio.count == 49)
        for (a, b) in zip(audio, audio.dropFirst()) {
            #expect(b.due - a.due == 20_000_000)
            #expect(b.sequenceNumber == a.sequenceNumber &+ 1)
            #expect(b.timestamp == a.timestamp &+ 960)
            #expect(b.clipIndex == (a.clipIndex + 1) % 100)
        }
    }

    @Test func videoFramesArePacedAndMarked() throws {
        let start: UInt64 = 1_000_000_000
        var schedule = PublisherSchedule(clip: Self.clip(), start: start, seed: 2)
        let video = Self.run(&schedule, from: start, milliseconds: 1000).map(\.1).filter(\.isVideo)
        // The keyframe first, all ten packets, the marker on its last one.
        #expect(video.prefix(10).allSatisfy { $0.clipIndex == 0 })
        #expect(video.prefix(10).map(\.marker) == Array(repeating: false, count: 9) + [true])
        // 1000 bytes at 2.5 x 1.5 Mbit/s: 2.13 ms apart.
        #expect(video[1].due - video[0].due == 2_133_333)
        var frames = 0
        for (a, b) in zip(video, video.dropFirst()) {
            #expect(b.sequenceNumber == a.sequenceNumber &+ 1)
            if a.marker {
                frames += 1
                #expect(b.timestamp == a.timestamp &+ 3000)
                #expect(b.pictureID == (a.pictureID &+ 1) & 0x7FFF)
                #expect(b.packetIndex == 0)
            } else {
                #expect(b.timestamp == a.timestamp)
                #expect(b.pictureID == a.pictureID)
            }
        }
        #expect((28...30).contains(frames))
    }

    @Test func aKeyframeRequestRestartsTheClipAtTheNextFrame() {
        let start: UInt64 = 1_000_000_000
        var schedule = PublisherSchedule(clip: Self.clip(), start: start, seed: 3)
        _ = Self.run(&schedule, from: start, milliseconds: 300)
        schedule.requestKeyframe()
        let after = Self.run(&schedule, from: start + 300_000_000, milliseconds: 100).map(\.1).filter(\.isVideo)
        let firstFrameStart = after.firstIndex { $0.packetIndex == 0 }!
        #expect(after[firstFrameStart].clipIndex == 0)
        #expect(schedule.keyframesForced == 1)
    }

    @Test func fallingFarBehindSkipsAheadWithoutBurstingOrGaps() {
        let start: UInt64 = 1_000_000_000
        var schedule = PublisherSchedule(clip: Self.clip(), start: start, seed: 4)
        let before = Self.run(&schedule, from: start, milliseconds: 100).map(\.1)
        // One second without the loop running.
        let late = start + 1_100_000_000
        var burst: [PublisherSchedule.Packet] = []
        while let packet = schedule.next(now: late) { burst.append(packet) }
        #expect(schedule.lagResets >= 1)
        #expect(burst.count < 15, "sent \(burst.count) packets at once after a stall")
        let lastAudio = before.last { !$0.isVideo }!
        let nextAudio = burst.first { !$0.isVideo }!
        #expect(nextAudio.sequenceNumber == lastAudio.sequenceNumber &+ 1)
        #expect(lastAudio.timestamp.distance(to: nextAudio.timestamp) > 960 * 40)
    }

    @Test func theSeedDecidesTheStartingPoints() {
        let a = PublisherSchedule(clip: Self.clip(), start: 0, seed: 9)
        let b = PublisherSchedule(clip: Self.clip(), start: 0, seed: 9)
        let c = PublisherSchedule(clip: Self.clip(), start: 0, seed: 10)
        #expect(a.nextDue == b.nextDue)
        #expect(a.nextDue != c.nextDue)
    }
}
