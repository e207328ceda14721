// A call as Signaling records it (issue 4): a 1-to-1 or group call, its participants and its
// status. JSON field names are the old Node service's (camelCase), which clients rely on.

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

public enum CallStatus: String, Codable, Sendable, CaseIterable {
    case ringing, active, ended, rejected, missed
}

public enum CallType: String, Codable, Sendable, CaseIterable {
    case voice, video
}

public enum ParticipantRole: String, Codable, Sendable, CaseIterable {
    case initiator, invitee
}

public enum ParticipantStatus: String, Codable, Sendable, CaseIterable {
    /// Rung, not answered yet.
    case invited
    case joined
    case left
    case rejected
}

public struct CallParticipant: Codable, Sendable, Equatable {
    /// The user id (a Matrix id such as "@bob:example.org").
    public var user: String
    public var role: ParticipantRole
    public var status: ParticipantStatus
    public var audioEnabled: Bool
    public var videoEnabled: Bool
    public var joinedAt: Date?
    public var leftAt: Date?

    public init(user: String, role: ParticipantRole, status: ParticipantStatus, audioEnabled: Bool = true, videoEnabled: Bool, joinedAt: Date? = nil, leftAt: Date? = nil) {
        self.user = user
        self.role = role
        self.status = status
        self.audioEnabled = audioEnabled
        self.videoEnabled = videoEnabled
        self.joinedAt = joinedAt
        self.leftAt = leftAt
    }
}

public struct CallRecord: Codable, Sendable, Equatable {
    public var callId: String
    /// The chat room the call belongs to (a Matrix room id such as "!room:example.org").
    public var roomId: String
    public var callType: CallType
    public var isGroupCall: Bool
    public var initiator: String
    public var status: CallStatus
    public var createdAt: Date
    public var answeredAt: Date?
    public var endedAt: Date?
    public var endReason: String?
    /// In the order they were added (initiator first).
    public var participants: [CallParticipant]

    public init(
        callId: String, roomId: String, callType: CallType, isGroupCall: Bool, initiator: String, status: CallStatus,
        createdAt: Date, answeredAt: Date? = nil, endedAt: Date? = nil, endReason: String? = nil,
        participants: [CallParticipant]
    ) {
        self.callId = callId
        self.roomId = roomId
        self.callType = callType
        self.isGroupCall = isGroupCall
        self.initiator = initiator
        self.status = status
        self.createdAt = createdAt
        self.answeredAt = answeredAt
        self.endedAt = endedAt
        self.endReason = endReason
        self.participants = participants
    }

    public func participant(_ user: String) -> CallParticipant? {
        participants.first { $0.user == user }
    }

    /// Who may mute others and end their media in this call: its initiator, or a participant
    /// whose token carries the admin grant. An admin token alone is not enough: a stranger's
    /// token, even for every room, moderates no call.
    public func isModerator(_ user: String, hasAdminGrant: Bool) -> Bool {
        guard participant(user) != nil else { return false }
        return user == initiator || hasAdminGrant
    }
}

/// One row of the audit log (`call_events`).
public struct CallEvent: Codable, Sendable, Equatable {
    public var id: Int64
    public var callId: String
    /// "initiated", "answered", "rejected", "ended", "missed", "offer", "answer-sdp",
    /// "ice-candidate", "audio-toggled", "video-toggled", "joined", "left", ...
    public var type: String
    public var actor: String?
    /// JSON text of the event's details (SDP, candidate, reason, ...), as sent.
    public var payload: String?
    public var createdAt: Date
}

/// An event to append; the store assigns id and time.
public struct NewCallEvent: Sendable, Equatable {
    public var type: String
    public var actor: String?
    public var payload: String?
    public var at: Date

    public init(type: String, actor: String?, payload: String? = nil, at: Date) {
        self.type = type
        self.actor = actor
        self.payload = payload
        self.at = at
    }
}

/// A change to one participant row; nil fields stay as they are. `addAs` inserts the user when
/// missing (a group call participant who joins uninvited).
public struct ParticipantChange: Sendable, Equatable {
    public var user: String
    public var status: ParticipantStatus?
    public var audioEnabled: Bool?
    public var videoEnabled: Bool?
    public var joinedAt: Date?
    public var leftAt: Date?
    public var addAs: ParticipantRole?

    public init(user: String, status: ParticipantStatus? = nil, audioEnabled: Bool? = nil, videoEnabled: Bool? = nil, joinedAt: Date? = nil, leftAt: Date? = nil, addAs: ParticipantRole? = nil) {
        self.user = user
        self.status = status
        self.audioEnabled = audioEnabled
        self.videoEnabled = videoEnabled
        self.joinedAt = joinedAt
        self.leftAt = leftAt
        self.addAs = addAs
    }
}
