// VP8 RTP payload descriptor (RFC 7741 §4.2) and keyframe detection (§4.3 with RFC 6386 §9.1),
// enough for an SFU to start a subscriber on a keyframe and to see frame and layer boundaries.

/// The descriptor at the start of every VP8 RTP payload. Parsing reads, never copies.
public struct VP8PayloadDescriptor: Sendable {
    /// X: the extension byte (I, L, T, K) is present.
    public let extended: Bool
    /// N: no other frame references this one, so it can be dropped.
    public let nonReferenceFrame: Bool
    /// S: this packet starts a VP8 partition.
    public let startOfPartition: Bool
    /// PID: the partition index (0...7).
    public let partitionIndex: UInt8
    /// 7- or 15-bit picture ID when I is set.
    public let pictureID: UInt16?
    /// The picture ID's width: 7 or 15 (0 without one).
    public let pictureIDBits: UInt8
    /// TL0PICIDX when L is set.
    public let tl0PicIndex: UInt8?
    /// TID when T is set.
    public let temporalLayer: UInt8?
    /// Y (layer sync) when T is set: this frame depends only on the base layer.
    public let layerSync: Bool
    /// KEYIDX when K is set.
    public let keyIndex: UInt8?
    /// Descriptor bytes; the VP8 payload starts here.
    public let length: Int

    public init(parsing payload: UnsafeRawBufferPointer) throws(RTPParseError) {
        guard !payload.isEmpty else { throw .tooShort }
        // |X|R|N|S|R| PID |
        let first = payload[0]
        extended = first & 0x80 != 0
        nonReferenceFrame = first & 0x20 != 0
        startOfPartition = first & 0x10 != 0
        partitionIndex = first & 0x07
        var pictureID: UInt16?
        var pictureIDBits: UInt8 = 0
        var tl0PicIndex: UInt8?
        var temporalLayer: UInt8?
        var layerSync = false
        var keyIndex: UInt8?
        var i = 1
        if extended {
            guard i < payload.count else { throw .tooShort }
            // |I|L|T|K| RSV |
            let flags = payload[i]
            i += 1
            if flags & 0x80 != 0 {
                guard i < payload.count else { throw .tooShort }
                // M bit: a 15-bit picture ID spread over two bytes.
                if payload[i] & 0x80 != 0 {
                    guard i + 1 < payload.count else { throw .tooShort }
                    pictureID = UInt16(payload[i] & 0x7F) << 8 | UInt16(payload[i + 1])
                    pictureIDBits = 15
                    i += 2
                } else {
                    pictureID = UInt16(payload[i])
                    pictureIDBits = 7
                    i += 1
                }
            }
            if flags & 0x40 != 0 {
                guard i < payload.count else { throw .tooShort }
                tl0PicIndex = payload[i]
                i += 1
            }
            if flags & 0x30 != 0 {
                // |TID|Y| KEYIDX |, present when T or K is set.
                guard i < payload.count else { throw .tooShort }
                let byte = payload[i]
                i += 1
                if flags & 0x20 != 0 {
                    temporalLayer = byte >> 6
                    layerSync = byte & 0x20 != 0
                }
                if flags & 0x10 != 0 {
                    keyIndex = byte & 0x1F
                }
            }
        }
        self.pictureID = pictureID
        self.pictureIDBits = pictureIDBits
        self.tl0PicIndex = tl0PicIndex
        self.temporalLayer = temporalLayer
        self.layerSync = layerSync
        self.keyIndex = keyIndex
        self.length = i
    }
}

extension VP8PayloadDescriptor {
    /// Whether `payload` (the one this descriptor was parsed from) starts a keyframe: S=1,
    /// PID=0, and the VP8 payload header's P bit (RFC 6386 §9.1 "frame type") is 0.
    public func startsKeyframe(in payload: UnsafeRawBufferPointer) -> Bool {
        startOfPartition && partitionIndex == 0 && length < payload.count && payload[length] & 0x01 == 0
    }

    /// Overwrites the picture ID and TL0PICIDX of the descriptor at the start of `payload` in
    /// place (an SFU that drops frames keeps both continuous, RFC 7741 §4.2). The ID keeps its
    /// width: a 7-bit one gets `pictureID`'s low 7 bits. A field the descriptor lacks is left
    /// out; a descriptor too short for what it announces is left as it is.
    public static func rewrite(_ payload: UnsafeMutableRawBufferPointer, pictureID: UInt16?, tl0PicIndex: UInt8?) {
        guard payload.count >= 2, payload[0] & 0x80 != 0 else { return }
        let flags = payload[1]
        var i = 2
        if flags & 0x80 != 0 {
            guard i < payload.count else { return }
            if payload[i] & 0x80 != 0 {
                guard i + 1 < payload.count else { return }
                if let pictureID {
                    payload[i] = 0x80 | UInt8(truncatingIfNeeded: pictureID >> 8) & 0x7F
                    payload[i + 1] = UInt8(truncatingIfNeeded: pictureID)
                }
                i += 2
            } else {
                if let pictureID { payload[i] = UInt8(truncatingIfNeeded: pictureID) & 0x7F }
                i += 1
            }
        }
        if flags & 0x40 != 0, let tl0PicIndex, i < payload.count {
            payload[i] = tl0PicIndex
        }
    }
}

public enum VP8 {
    /// True when the payload starts a keyframe: S=1, PID=0, and the VP8 payload header's P bit
    /// (first byte bit 0, RFC 6386 §9.1 "frame type": 0 is a key frame) is 0.
    public static func isKeyframe(_ payload: UnsafeRawBufferPointer) -> Bool {
        guard let descriptor = try? VP8PayloadDescriptor(parsing: payload) else { return false }
        return descriptor.startsKeyframe(in: payload)
    }
}
