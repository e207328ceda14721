// A client connected over Socket.IO, as the call service sees it: events it is given go out
// as `42["event", data]` on whichever transport the session uses at that moment.

import SocketIO

final class SocketIOClient: RealtimeClient {
    let connectionID: String
    let user: String
    let isAdmin: Bool
    let address: String?
    private let session: SocketIOLiveSession

    init(connectionID: String, user: String, isAdmin: Bool, address: String?, session: SocketIOLiveSession) {
        self.connectionID = connectionID
        self.user = user
        self.isAdmin = isAdmin
        self.address = address
        self.session = session
    }

    func deliver(_ event: RealtimeEvent) async {
        session.emit(event)
    }
}
