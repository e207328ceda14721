// Who may lift a mute: a moderator's mute outranks the participant's own.

import Testing
@testable import SFU

@Suite struct MuteStateTests {
    @Test func selfMuteAndUnmute() throws {
        var state = MuteState()
        try state.apply(muted: true, byAdmin: false)
        #expect(state.isMuted && state.bySelf && !state.byAdmin)
        try state.apply(muted: false, byAdmin: false)
        #expect(!state.isMuted)
    }

    @Test func participantCannotLiftAModeratorsMute() throws {
        var state = MuteState()
        try state.apply(muted: true, byAdmin: true)
        #expect(throws: MuteState.Change.lockedByAdmin) { try state.apply(muted: false, byAdmin: false) }
        #expect(state.isMuted)
        // Muting oneself on top is allowed and changes nothing visible.
        try state.apply(muted: true, byAdmin: false)
        #expect(state.isMuted)
    }

    @Test func moderatorUnmuteLiftsBoth() throws {
        var state = MuteState(byAdmin: true, bySelf: true)
        try state.apply(muted: false, byAdmin: true)
        #expect(state == MuteState())
    }

    @Test func selfUnmuteKeepsNothingWhenOnlyModeratorMuted() throws {
        var state = MuteState()
        try state.apply(muted: true, byAdmin: true)
        try state.apply(muted: false, byAdmin: true)
        try state.apply(muted: false, byAdmin: false)
        #expect(!state.isMuted)
    }
}
