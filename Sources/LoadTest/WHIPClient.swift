// WHIP (RFC 9725) and Chorus's WHEP counterpart from the client side: POST an offer, get the
// answer and the resource's Location; DELETE the Location to leave.

public struct WHIPClient: Sendable {
    public let server: LoopbackServer

    public init(server: LoopbackServer) {
        self.server = server
    }

    public struct Session: Equatable, Sendable {
        public var answer: String
        /// The resource path, e.g. `/whip/room/participant`.
        public var location: String
        /// The last path component of `location`: the participant (WHIP) or subscription (WHEP).
        public var resourceID: String { String(location.split(separator: "/").last ?? "") }
    }

    /// `POST /whip/{room}`: publish.
    public func publish(room: String, offer: String, token: String) throws(LoadTestError) -> Session {
        try post(path: "/whip/\(room)", offer: offer, token: token)
    }

    /// `POST /whep/{room}/{participant}`: subscribe to one publisher.
    public func subscribe(room: String, participant: String, offer: String, token: String) throws(LoadTestError) -> Session {
        try post(path: "/whep/\(room)/\(participant)", offer: offer, token: token)
    }

    /// DELETE a Location; 404 counts as done (the resource went with its transport).
    public func delete(location: String, token: String) throws(LoadTestError) {
        let response = try HTTPClient.send(
            method: "DELETE", port: server.port, path: location, headers: [("Authorization", "Bearer \(token)")])
        guard [200, 204, 404].contains(response.status) else {
            throw .rejected(request: "DELETE \(location)", status: response.status, body: response.body)
        }
    }

    private func post(path: String, offer: String, token: String) throws(LoadTestError) -> Session {
        let response = try HTTPClient.send(
            method: "POST", port: server.port, path: path,
            headers: [("Content-Type", "application/sdp"), ("Authorization", "Bearer \(token)")], body: offer)
        guard response.status == 201 else {
            throw .rejected(request: "POST \(path)", status: response.status, body: response.body)
        }
        guard let location = response.header("location"), location.hasPrefix("/") else {
            throw .badAnswer("POST \(path) answered 201 without a Location")
        }
        return Session(answer: response.body, location: location)
    }
}
