// A call as the API shows it, over REST and in realtime events: the old service's camelCase
// fields, times as ISO 8601 with milliseconds, absent optional fields left out.

import SocketIO

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension CallParticipant {
    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "user": .string(user),
            "role": .string(role.rawValue),
            "status": .string(status.rawValue),
            "audioEnabled": .bool(audioEnabled),
            "videoEnabled": .bool(videoEnabled),
        ]
        if let joinedAt { object["joinedAt"] = .string(Timestamp.format(joinedAt)) }
        if let leftAt { object["leftAt"] = .string(Timestamp.format(leftAt)) }
        return .object(object)
    }
}

extension CallRecord {
    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "callId": .string(callId),
            "roomId": .string(roomId),
            "callType": .string(callType.rawValue),
            "isGroupCall": .bool(isGroupCall),
            "initiator": .string(initiator),
            "status": .string(status.rawValue),
            "createdAt": .string(Timestamp.format(createdAt)),
            "participants": .array(participants.map(\.json)),
        ]
        if let answeredAt { object["answeredAt"] = .string(Timestamp.format(answeredAt)) }
        if let endedAt { object["endedAt"] = .string(Timestamp.format(endedAt)) }
        if let endReason { object["endReason"] = .string(endReason) }
        return .object(object)
    }
}
