// Who muted a participant's track: a moderator's mute outranks the participant's own, so
// the participant cannot lift it (the mute is decided at the server, not trusted to clients).

public struct MuteState: Sendable, Equatable, Codable {
    public var byAdmin = false
    public var bySelf = false

    public init(byAdmin: Bool = false, bySelf: Bool = false) {
        self.byAdmin = byAdmin
        self.bySelf = bySelf
    }

    public var isMuted: Bool { byAdmin || bySelf }

    public enum Change: Error, Equatable, Sendable {
        /// The participant tried to unmute what a moderator muted.
        case lockedByAdmin
    }

    /// Applies a request. A moderator's unmute lifts both mutes; a participant's unmute only
    /// its own, and fails while a moderator's mute stands.
    public mutating func apply(muted: Bool, byAdmin admin: Bool) throws(Change) {
        switch (muted, admin) {
        case (true, true): byAdmin = true
        case (true, false): bySelf = true
        case (false, true):
            byAdmin = false
            bySelf = false
        case (false, false):
            guard !byAdmin else { throw .lockedByAdmin }
            bySelf = false
        }
    }
}
