// libFuzzer entry point for the Engine.IO v4 / Socket.IO v4 codec as a client reaches it: a
// long-polling POST body (EngineIOPayload: packets split on U+001E, `b` + base64 binary) and a
// WebSocket text frame (one EngineIOPacket), and the Socket.IO packet inside every message.
// What decodes must encode to text that decodes to the same packet: the server echoes
// namespaces and acknowledgement ids back in that form.

import SocketIO
import CLibFuzzer
import Glibc

private enum Fixture {
    /// The server's default maxPayload (SocketIOConfiguration), so that the size check is real.
    static let maxPayload = 1_000_000
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSocketIO(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var messages: [String] = []
    if let packets = try? EngineIOPayload.decode(bytes, maxPayload: Fixture.maxPayload) {
        for packet in packets {
            let again = try? EngineIOPayload.decode(Array(EngineIOPayload.encode([packet]).utf8), maxPayload: .max)
            guard again == [packet] else { fatalError("Engine.IO packet \(packet) does not survive its encoding") }
            if case .message(let text) = packet { messages.append(text) }
        }
    }
    // A WebSocket text frame is checked as UTF-8 by the WebSocket layer (RFC 6455 §8.1) first.
    if let frame = String(validating: bytes, as: UTF8.self) {
        if let packet = try? EngineIOPacket(text: frame[...], base64Binary: false), case .message(let text) = packet {
            messages.append(text)
        }
        messages.append(frame)
    }
    for text in messages {
        guard let packet = try? SocketIOPacket(decoding: text) else { continue }
        _ = packet.event
        let encoded = packet.encoded
        guard let again = try? SocketIOPacket(decoding: encoded) else {
            fatalError("Socket.IO packet \(packet) encodes to \(encoded), which does not decode")
        }
        guard again == packet else { fatalError("Socket.IO packet \(packet) became \(again) through \(encoded)") }
    }
    return 0
}

// SwiftPM makes this file's top-level code the program's main (see CLibFuzzer/shim.h).
var argumentCount = CommandLine.argc
var arguments = Optional(CommandLine.unsafeArgv)
exit(LLVMFuzzerRunDriver(&argumentCount, &arguments) { data, size in fuzzSocketIO(data!, size) })
