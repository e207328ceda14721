// Liveness and metrics for operators: /healthz and /metrics (Prometheus text format).

import Hummingbird
import SFU

struct OperationsRoutes: Sendable {
    let media: MediaServer
    let metrics: ChorusMetrics

    func register(on router: Router<some RequestContext>) {
        router.get("healthz") { _, _ -> Response in
            // Reaching the worker proves its thread is alive and not stuck on a packet.
            _ = try await media.stats()
            return try json(["status": "ok"])
        }
        router.get("metrics") { _, _ -> Response in
            let text = metrics.render(try await media.stats())
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
        }
    }
}
