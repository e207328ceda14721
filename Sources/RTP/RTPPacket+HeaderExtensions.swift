// RFC 8285 header-extension elements of an RTP packet: one-byte (0xBEDE) and two-byte (0x100X)
// forms, looked up by local id without copying.

extension RTPPacket {
    /// The RFC 8285 element with this local id (one-byte form: 1...14, two-byte form: 1...255),
    /// or nil when absent, when the id is out of range, or when the extension profile is opaque.
    public func headerExtension(id: UInt8) -> UnsafeRawBufferPointer? {
        guard let profile = extensionProfile, let body = extensionData else { return nil }
        let form = HeaderExtensionForm(profile: profile)
        guard form.isValidID(id) else { return nil }
        var found: Range<Int>?
        _ = form.forEachElement(in: body) { elementID, range in
            if elementID == id { found = range }
            return found != nil
        }
        return found.map { body.slice($0) }
    }

    /// Calls `body` with each RFC 8285 element's id and data, in packet order. Does nothing for an
    /// opaque extension profile or a packet without extension.
    public func forEachHeaderExtension(_ body: (UInt8, UnsafeRawBufferPointer) -> Void) {
        guard let profile = extensionProfile, let data = extensionData else { return }
        _ = HeaderExtensionForm(profile: profile).forEachElement(in: data) { id, range in
            body(id, data.slice(range))
            return false
        }
    }
}

/// Which RFC 8285 element layout an extension profile value announces.
enum HeaderExtensionForm {
    case oneByte, twoByte, opaque

    init(profile: UInt16) {
        if profile == 0xBEDE {
            self = .oneByte
        } else if profile & 0xFFF0 == 0x1000 {
            // RFC 8285 §4.3: 0x100 followed by 4 "appbits" the application may use.
            self = .twoByte
        } else {
            self = .opaque
        }
    }

    func isValidID(_ id: UInt8) -> Bool {
        switch self {
        case .oneByte: return (1...14).contains(id)
        case .twoByte: return id != 0
        case .opaque: return false
        }
    }

    /// Visits each element (id, byte range in `body`) until `visit` returns true.
    /// Returns false when an element runs past the end of `body`.
    func forEachElement(
        in body: UnsafeRawBufferPointer, _ visit: (UInt8, Range<Int>) -> Bool
    ) -> Bool {
        var i = 0
        switch self {
        case .opaque:
            return true
        case .oneByte:
            while i < body.count {
                let id = body[i] >> 4
                // RFC 8285 §4.2: 0 is a padding byte (its length nibble is ignored, as libwebrtc
                // does); 15 is reserved and ends processing of the whole extension.
                if id == 0 {
                    i += 1
                    continue
                }
                if id == 15 { return true }
                let start = i + 1
                let end = start + Int(body[i] & 0x0F) + 1
                guard end <= body.count else { return false }
                if visit(id, start..<end) { return true }
                i = end
            }
        case .twoByte:
            while i < body.count {
                let id = body[i]
                if id == 0 {  // RFC 8285 §4.3: padding byte
                    i += 1
                    continue
                }
                guard i + 2 <= body.count else { return false }
                let start = i + 2
                let end = start + Int(body[i + 1])
                guard end <= body.count else { return false }
                if visit(id, start..<end) { return true }
                i = end
            }
        }
        return true
    }
}
