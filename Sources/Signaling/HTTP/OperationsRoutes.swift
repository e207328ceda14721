// Readiness and metrics for operators: /healthz and /metrics (Prometheus text format).

import Hummingbird
import SFU

struct OperationsRoutes: Sendable {
    let media: MediaServer
    let metrics: ChorusMetrics
    /// The call database, when the server has the call API.
    var store: (any CallStore)?
    /// A probe's round trip to the database: shorter than orchestrators' usual probe timeouts.
    static let databaseProbeLimit: Duration = .seconds(2)

    func register(on router: Router<some RequestContext>) {
        router.get("healthz") { _, context -> Response in
            // Reaching the worker proves its thread is alive and not stuck on a packet.
            _ = try await media.stats()
            guard let store else { return try json(["status": "ok"]) }
            let database = await DatabaseReadiness.probe(store, within: Self.databaseProbeLimit, logger: context.logger)
            switch database {
            case .ready:
                return try json(["status": "ok", "database": database.rawValue])
            case .starting:
                return try json(
                    ["status": "starting", "database": database.rawValue,
                     "message": "the call database is not open and migrated yet"],
                    status: .serviceUnavailable)
            case .unavailable:
                return try json(
                    ["status": "unavailable", "database": database.rawValue,
                     "message": "the call database does not answer"],
                    status: .serviceUnavailable)
            }
        }
        router.get("metrics") { _, _ -> Response in
            let text = metrics.render(try await media.stats())
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
        }
    }
}
