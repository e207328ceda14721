// A call in a Matrix room is a call among that room's members (issue 15): the caller must have
// joined it, each invitee must have joined or been invited, and a 1-to-1 call that names nobody
// goes to the room's one other member. Asked of the homeserver as the application service
// acting for the caller, so the answer is what the caller may see; a caller the homeserver
// will not let Chorus act for (a user of another server) is refused like a non-member.

import Logging

struct MatrixRoomMembership: CallRoomPolicy {
    let homeserver: any MatrixHomeserver
    let logger: Logger

    func admit(_ request: InitiateCall, by user: String) async throws(CallError) -> InitiateCall {
        guard request.isMatrixRoom else { return request }
        let members: [MatrixMember]
        do {
            members = try await homeserver.members(of: request.roomId, as: user)
        } catch {
            switch error {
            case .unavailable(let reason):
                logger.warning("room members of \(request.roomId): \(reason)")
                throw CallError(.unavailable, "unavailable", "the Matrix homeserver cannot be reached to check the room's members; try again")
            case .refused:
                throw CallError(.forbidden, "forbidden", "you are not joined to the Matrix room \(request.roomId)")
            }
        }
        var membership: [String: String] = [:]
        for member in members { membership[member.user] = member.membership }
        guard membership[user] == "join" else {
            throw CallError(.forbidden, "forbidden", "you are not joined to the Matrix room \(request.roomId)")
        }
        var admitted = request
        if request.invitees.isEmpty, !request.isGroupCall {
            let others = membership.filter { $0.key != user && ($0.value == "join" || $0.value == "invite") }.keys.sorted()
            guard others.count == 1 else {
                throw CallError.invalid(
                    "invitees", "one user id: the Matrix room \(request.roomId) has \(others.count) other members, so whom to call cannot be guessed")
            }
            admitted.invitees = others
        }
        let strangers = admitted.invitees.filter { membership[$0] != "join" && membership[$0] != "invite" }
        guard strangers.isEmpty else {
            throw CallError.invalid("invitees", "members (joined or invited) of the Matrix room \(request.roomId); not: \(strangers.prefix(5).joined(separator: ", "))")
        }
        return admitted
    }
}
