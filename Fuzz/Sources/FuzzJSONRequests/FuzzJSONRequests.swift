// libFuzzer entry point for the call API's request bodies as CallRoutes and the realtime
// transports read them: JSON text (JSONValue.parse), then each reader that checks a body field
// by field (InitiateCall, RelayMessage for offers, answers and candidates). A reader may only
// accept or throw a CallError; what it accepts must hold the limits it promises.

import Signaling
import SocketIO
import CLibFuzzer
import Glibc

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONRequests(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    guard let json = JSONValue.parse(bytes) else { return 0 }
    // What Chorus records and relays is re-encoded JSON: it must parse back the same.
    guard JSONValue.parse(Array(json.jsonText.utf8)) == json else {
        fatalError("JSON does not survive its own encoding: \(json.jsonText)")
    }
    if let call = try? InitiateCall(json: json, initiator: "@fuzz:example.org") {
        guard !call.invitees.contains("@fuzz:example.org"), call.invitees.count <= 100,
            // A 1-to-1 call names its one callee, or nobody in a Matrix room (the room's other
            // member is called; the service checks that once it knows the room).
            call.isGroupCall || call.invitees.count == 1 || (call.invitees.isEmpty && call.isMatrixRoom),
            !call.roomId.isEmpty, call.roomId.utf8.count <= 255
        else { fatalError("InitiateCall accepted what it must refuse: \(call)") }
    }
    for kind in RelayKind.allCases {
        guard let message = try? RelayMessage(kind: kind, json: json) else { continue }
        guard message.fields["to"] == nil, message.fields["callId"] == nil else {
            fatalError("RelayMessage kept the routing fields: \(message)")
        }
    }
    return 0
}

// SwiftPM makes this file's top-level code the program's main (see CLibFuzzer/shim.h).
var argumentCount = CommandLine.argc
var arguments = Optional(CommandLine.unsafeArgv)
exit(LLVMFuzzerRunDriver(&argumentCount, &arguments) { data, size in fuzzJSONRequests(data!, size) })
