// Janus's HTTP transport from the client side (https://janus.conf.meetecho.com/docs/rest.html):
// POST /janus creates a session, POST /janus/<session> attaches a plugin handle, POST
// /janus/<session>/<handle> sends the plugin a message. Janus answers a message at once
// ("success" with the plugin's reply) or with "ack", and then delivers the plugin's event
// through the session's long poll, GET /janus/<session>?maxev=N, matched by transaction.

import Glibc

struct JanusClient: Sendable {
    let server: LoopbackServer
    static let videoRoomPlugin = "janus.plugin.videoroom"
    /// How long one long poll may hang: Janus answers an idle poll after 30 s with a keepalive.
    static let pollSeconds = 35
    /// How long a plugin may take to produce its event (SDP negotiation is milliseconds).
    static let eventDeadlineSeconds: UInt64 = 20

    func createSession() throws(LoadTestError) -> UInt64 {
        let reply = try post(path: "/janus", JanusRequest(janus: "create", transaction: Self.transaction()))
        guard let id = reply.data?.id else { throw .http("Janus 'create' succeeded without a session id") }
        return id
    }

    func attachVideoRoom(session: UInt64) throws(LoadTestError) -> UInt64 {
        let reply = try post(
            path: "/janus/\(session)", JanusRequest(janus: "attach", transaction: Self.transaction(), plugin: Self.videoRoomPlugin))
        guard let id = reply.data?.id else { throw .http("Janus 'attach' succeeded without a handle id") }
        return id
    }

    /// Sends a VideoRoom request (with `jsep` when given) and returns the plugin's reply: the
    /// synchronous one, or the event the long poll delivers for this transaction. A plugin
    /// error is thrown as `.rejected` with the VideoRoom's error code as the status.
    func send(_ request: VideoRoomRequest, jsep: JanusJSEP? = nil, session: UInt64, handle: UInt64) throws(LoadTestError) -> JanusReply {
        let transaction = Self.transaction()
        let message = JanusRequest(janus: "message", transaction: transaction, body: request, jsep: jsep)
        var reply = try post(path: "/janus/\(session)/\(handle)", message)
        if reply.janus == "ack" {
            reply = try awaitEvent(session: session, transaction: transaction)
        }
        if let room = reply.videoRoom, let code = room.errorCode {
            throw .rejected(request: "Janus VideoRoom '\(request.name)'", status: code, body: room.error ?? "")
        }
        guard reply.plugindata != nil else {
            throw .http("Janus answered VideoRoom '\(request.name)' with '\(reply.janus)' and no plugin data")
        }
        return reply
    }

    /// Sessions time out after `session_timeout` (60 s) without a request.
    func keepalive(session: UInt64) throws(LoadTestError) {
        _ = try post(path: "/janus/\(session)", JanusRequest(janus: "keepalive", transaction: Self.transaction()))
    }

    /// Destroys a session with its handles (and their PeerConnections).
    func destroy(session: UInt64) throws(LoadTestError) {
        _ = try post(path: "/janus/\(session)", JanusRequest(janus: "destroy", transaction: Self.transaction()))
    }

    // MARK: - Exchange

    private func post(path: String, _ request: JanusRequest) throws(LoadTestError) -> JanusReply {
        let response = try HTTPClient.send(
            method: "POST", port: server.port, path: path, headers: [("Content-Type", "application/json")], body: request.json())
        guard response.status == 200 else {
            throw .rejected(request: "POST \(path) (\(request.janus))", status: response.status, body: response.body)
        }
        let reply = try JanusReply(parsing: response.body)
        if reply.janus == "error" {
            throw .rejected(
                request: "Janus '\(request.janus)' on \(path)", status: reply.error?.code ?? 0, body: reply.error?.reason ?? response.body)
        }
        return reply
    }

    /// Long-polls the session until the event for `transaction` arrives. Other events of the
    /// session (webrtcup, media, slowlink, other handles' notifications) are not needed and
    /// are dropped.
    private func awaitEvent(session: UInt64, transaction: String) throws(LoadTestError) -> JanusReply {
        let deadline = MonotonicTime.now() + Self.eventDeadlineSeconds * 1_000_000_000
        while MonotonicTime.now() < deadline {
            let response = try HTTPClient.send(
                method: "GET", port: server.port, path: "/janus/\(session)?maxev=10&rid=\(UInt32.random(in: 0...UInt32.max))",
                timeoutSeconds: Self.pollSeconds)
            guard response.status == 200 else {
                throw .rejected(request: "GET /janus/\(session) (long poll)", status: response.status, body: response.body)
            }
            for event in try JanusReply.events(parsing: response.body) where event.transaction == transaction {
                if event.janus == "error" {
                    throw .rejected(request: "Janus event", status: event.error?.code ?? 0, body: event.error?.reason ?? "")
                }
                return event
            }
        }
        throw .http("Janus sent no event for transaction \(transaction) in \(Self.eventDeadlineSeconds) s")
    }

    static func transaction() -> String {
        String((0..<12).map { _ in "abcdefghijklmnopqrstuvwxyz0123456789".randomElement()! })
    }
}
