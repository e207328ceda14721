// Makes a refused WebSocket upgrade answer like any other request: `401` with the JSON error
// for a bad token, `429` with `Retry-After` over a connection limit. HummingbirdWebSocket asks
// the router whether to upgrade and, when the answer is not "upgrade", writes a fixed empty
// `400` of its own, whatever the route said. So on an upgrade request this middleware writes
// the route's refusal to the connection itself, then drops whatever is written after it.

import Hummingbird
import NIOCore
import NIOHTTP1

struct WebSocketRefusalMiddleware: RouterMiddleware {
    typealias Context = ChorusRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // Only the upgrade path sees such requests: on the plain HTTP path Hummingbird answers
        // any request carrying `Upgrade: websocket` with a redirect before routing.
        guard request.headers[.upgrade]?.lowercased() == "websocket" else { return try await next(request, context) }
        let response = try await next(request, context)
        guard response.status != .ok else { return response }  // 200 here means "upgrade"
        try await Self.write(response, to: context.channel)
        return response
    }

    private static func write(_ response: Response, to channel: any Channel) async throws {
        let collector = BodyCollector()
        try await response.body.write(collector.writer)
        var headers = HTTPHeaders()
        for field in response.headers { headers.add(name: field.name.canonicalName, value: field.value) }
        headers.replaceOrAdd(name: "Content-Length", value: String(collector.body.readableBytes))
        headers.replaceOrAdd(name: "Connection", value: "close")
        let head = HTTPResponseHead(
            version: .http1_1, status: HTTPResponseStatus(statusCode: response.status.code, reasonPhrase: response.status.reasonPhrase),
            headers: headers)
        channel.write(HTTPServerResponsePart.head(head), promise: nil)
        channel.write(HTTPServerResponsePart.body(.byteBuffer(collector.body)), promise: nil)
        try? await channel.writeAndFlush(HTTPServerResponsePart.end(nil))
        // What the library writes next (its 400) must not follow ours on the wire; it closes
        // the connection afterwards as it would anyway.
        try? await channel.pipeline.addHandler(DiscardWrites(), position: .first).get()
    }
}

/// Swallows every write at the socket's end of the pipeline (after a refusal was sent).
private final class DiscardWrites: ChannelOutboundHandler, Sendable {
    typealias OutboundIn = Any

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        promise?.succeed()
    }
}

/// Gathers a response body in memory (refusals are a few hundred bytes).
private struct BodyCollector {
    final class Storage {
        var buffer = ByteBuffer()
    }

    struct Writer: ResponseBodyWriter {
        let storage: Storage

        mutating func write(_ buffer: ByteBuffer) async throws {
            var buffer = buffer
            storage.buffer.writeBuffer(&buffer)
        }

        consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
    }

    let storage = Storage()
    var writer: Writer { Writer(storage: storage) }
    var body: ByteBuffer { storage.buffer }
}
