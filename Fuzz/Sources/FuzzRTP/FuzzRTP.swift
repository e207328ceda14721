// libFuzzer entry point for the RTP view (RFC 3550 §5.1, RFC 8285 header extensions) and the
// payload descriptors the SFU reads on every packet (VP8 RFC 7741, H264 keyframes). The view
// must stay inside the datagram: every accessor is called on whatever parsed, and the sizes it
// reports must add up to the datagram's.

import RTP
import CLibFuzzer
import Glibc

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRTP(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    _ = VP8.isKeyframe(bytes)
    _ = H264.isKeyframe(bytes)
    guard let packet = try? RTPPacket(parsing: bytes) else { return 0 }
    guard packet.headerLength >= 12 + 4 * packet.csrcCount,
        packet.headerLength + packet.payload.count + packet.paddingLength == size
    else { fatalError("RTP sizes do not add up: header \(packet.headerLength), payload \(packet.payload.count), padding \(packet.paddingLength) of \(size)") }
    _ = (packet.marker, packet.payloadType, packet.sequenceNumber, packet.timestamp, packet.ssrc, packet.hasPadding)
    for index in 0..<packet.csrcCount { _ = packet.csrc(at: index) }
    if (packet.extensionData == nil) != (packet.extensionProfile == nil) {
        fatalError("RTP extension data and profile disagree")
    }
    packet.forEachHeaderExtension { id, element in
        guard id != 0, packet.headerExtension(id: id) != nil else {
            fatalError("RTP header extension \(id) is listed but not found")
        }
        _ = element.reduce(0, &+)
    }
    for id: UInt8 in [1, 2, 3, 4, 14, 15, 255] { _ = packet.headerExtension(id: id)?.reduce(0, &+) }
    let payload = packet.payload
    if let descriptor = try? VP8PayloadDescriptor(parsing: payload), descriptor.length > payload.count {
        fatalError("VP8 descriptor of \(descriptor.length) bytes in a payload of \(payload.count)")
    }
    _ = VP8.isKeyframe(payload)
    _ = H264.isKeyframe(payload)
    return 0
}

// SwiftPM makes this file's top-level code the program's main (see CLibFuzzer/shim.h).
var argumentCount = CommandLine.argc
var arguments = Optional(CommandLine.unsafeArgv)
exit(LLVMFuzzerRunDriver(&argumentCount, &arguments) { data, size in fuzzRTP(data!, size) })
