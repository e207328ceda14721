// Server-side mute over the in-memory network: a muted track's packets are counted and
// dropped while the other kind flows; unmute asks the publisher for a keyframe and resumes
// video on it with no sequence gap and timestamps that moved on with the pause.

import Testing
import ICE
import RTP
@testable import SFU
import SFUTesting

@Suite struct MuteTests {
    /// A call whose subscriber already receives video and audio.
    private func flowingCall() throws -> CallFixture {
        let call = try CallFixture()
        try call.sendVideoFrame(keyframe: true)
        for _ in 0..<3 {
            call.net.advance(by: .milliseconds(33))
            try call.sendVideoFrame(keyframe: false)
            try call.sendAudio()
        }
        try #require(call.subscriber.rtp(ssrc: call.videoTrack.ssrc).count == 8)
        return call
    }

    private func mute(_ call: CallFixture, _ kind: TrackKind, _ muted: Bool, byAdmin: Bool) throws -> ParticipantState {
        let state = try call.core.setMute(
            room: CallFixture.room, participantID: CallFixture.publisherID, kind: kind, muted: muted, byAdmin: byAdmin,
            now: call.net.now)
        call.net.settle()
        return state
    }

    @Test func adminMuteDropsVideoWhileAudioFlows() throws {
        let call = try flowingCall()
        let videoBefore = call.subscriber.rtp(ssrc: call.videoTrack.ssrc).count
        let audioBefore = call.subscriber.rtp(ssrc: call.audioTrack.ssrc).count

        let state = try mute(call, .video, true, byAdmin: true)
        #expect(state.videoMuted)
        #expect(state.video == MuteState(byAdmin: true, bySelf: false))
        #expect(!state.audioMuted)

        for _ in 0..<5 {
            call.net.advance(by: .milliseconds(33))
            try call.sendVideoFrame(keyframe: false)
            try call.sendAudio()
        }
        #expect(call.subscriber.rtp(ssrc: call.videoTrack.ssrc).count == videoBefore)
        #expect(call.subscriber.rtp(ssrc: call.audioTrack.ssrc).count == audioBefore + 5)
        #expect(call.videoTrackState?.muted == true)
        #expect(call.videoTrackState?.packetsDroppedMuted == 10)
        #expect(call.audioTrackState?.packetsDroppedMuted == 0)
        #expect(call.core.statsSnapshot.dropped(.muted) == 10)
    }

    @Test func unmuteResumesOnAKeyframeWithoutASequenceGap() throws {
        let call = try flowingCall()
        let beforeMute = call.subscriber.rtp(ssrc: call.videoTrack.ssrc)
        let last = try #require(beforeMute.last)
        _ = try mute(call, .video, true, byAdmin: true)
        for _ in 0..<30 {  // one second of muted video
            call.net.advance(by: .milliseconds(33))
            try call.sendVideoFrame(keyframe: false)
        }

        let plisBefore = call.publisher.pictureLossIndications.count
        let requestsBefore = call.videoTrackState?.keyframeRequests ?? 0
        let state = try mute(call, .video, false, byAdmin: true)
        #expect(!state.videoMuted)
        // Unmute asks for a keyframe at once, whatever the throttle says.
        let plis = call.publisher.pictureLossIndications.dropFirst(plisBefore)
        #expect(plis.count == 1)
        #expect(plis.first?.mediaSSRC == CallFixture.videoSSRC)
        #expect(call.videoTrackState?.keyframeRequests == requestsBefore + 1)

        // Deltas that were in flight are not forwarded: the subscriber could not decode them.
        call.net.advance(by: .milliseconds(33))
        try call.sendVideoFrame(keyframe: false)
        #expect(call.subscriber.rtp(ssrc: call.videoTrack.ssrc).count == beforeMute.count)

        call.net.advance(by: .milliseconds(33))
        try call.sendVideoFrame(keyframe: true)
        call.net.advance(by: .milliseconds(33))
        try call.sendVideoFrame(keyframe: false)
        let resumed = call.subscriber.rtp(ssrc: call.videoTrack.ssrc).dropFirst(beforeMute.count)
        try #require(resumed.count == 4)
        let first = resumed.first!
        #expect(isVP8KeyframeStart(first.payload))
        #expect(first.sequenceNumber == last.sequenceNumber &+ 1)
        for (previous, next) in zip(resumed, resumed.dropFirst()) {
            #expect(next.sequenceNumber == previous.sequenceNumber &+ 1)
        }
        // The pause shows as time passing at 90 kHz, not as a jump back or a huge leap.
        let advance = last.timestamp.distance(to: first.timestamp)
        // 30 muted frames, the dropped delta and the keyframe: 32 steps of 33 ms since the last packet.
        let pause = Int64(32 * 33 * 90)
        #expect(advance > 0)
        #expect(abs(advance - pause) <= 1, "timestamp advanced \(advance), expected \(pause)")
    }

    @Test func audioUnmuteContinuesTheSequence() throws {
        let call = try flowingCall()
        let last = try #require(call.subscriber.rtp(ssrc: call.audioTrack.ssrc).last)
        _ = try mute(call, .audio, true, byAdmin: false)
        for _ in 0..<10 {
            call.net.advance(by: .milliseconds(20))
            try call.sendAudio()
        }
        #expect(call.audioTrackState?.packetsDroppedMuted == 10)
        _ = try mute(call, .audio, false, byAdmin: false)
        try call.sendAudio()
        let first = try #require(call.subscriber.rtp(ssrc: call.audioTrack.ssrc).last)
        #expect(first.sequenceNumber == last.sequenceNumber &+ 1)
        #expect(last.timestamp.distance(to: first.timestamp) > 0)
    }

    @Test func selfUnmuteCannotLiftAnAdminMute() throws {
        let call = try flowingCall()
        _ = try mute(call, .video, true, byAdmin: true)
        #expect(throws: MediaServerError.muteLockedByAdmin) {
            _ = try call.core.setMute(
                room: CallFixture.room, participantID: CallFixture.publisherID, kind: .video, muted: false,
                byAdmin: false, now: call.net.now)
        }
        #expect(call.videoTrackState?.muted == true)
        try call.sendVideoFrame(keyframe: true)
        #expect(call.videoTrackState?.packetsDroppedMuted == 2)
        // The participant's own mute stacks under the admin's; the admin's unmute lifts both.
        _ = try mute(call, .video, true, byAdmin: false)
        let state = try mute(call, .video, false, byAdmin: true)
        #expect(state.video == MuteState())
        #expect(call.videoTrackState?.muted == false)
    }
}
