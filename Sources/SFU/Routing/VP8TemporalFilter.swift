// VP8 temporal-layer dropping for one consumer (RFC 7741 §4.2: TID, Y, TL0PICIDX, PictureID):
// forwards the temporal layers up to the subscriber's cap, and keeps the picture IDs it sees free
// of the gaps the dropped frames would leave (as mediasoup's VP8 EncodingContext and LiveKit's VP8
// munger do). Sans-IO: parsed descriptors in, decisions and the numbers to write out.

import RTP

struct VP8TemporalFilter {
    /// The highest temporal layer forwarded now (nil: all of them).
    private(set) var current: UInt8?
    /// The cap the subscriber wants (nil: none); `current` follows it at the next safe frame.
    private(set) var target: UInt8?
    /// Set by the first cap and kept: from then on every packet's descriptor is read and its
    /// picture ID rewritten (the numbers out differ from the publisher's for good).
    private(set) var isEngaged = false
    /// The highest TID the stream has carried: with no cap wanted, reaching it lifts the cap.
    private var highestLayerSeen: UInt8 = 0

    /// Added to incoming picture IDs (mod 2^15): one less per dropped picture, and re-chosen at
    /// each anchor so that the next picture follows the last one sent.
    private var pictureIDOffset: UInt16 = 0
    private var tl0Offset: UInt8 = 0
    private var lastOutPictureID: UInt16?
    private var lastOutTL0: UInt8?
    /// The last pictures dropped (incoming IDs): a late packet of an older picture needs to know
    /// how many were dropped after it. Also tells the packets of a picture already counted.
    private var droppedPictures = RecentNumbers()
    /// The last packets dropped (incoming sequence numbers), for the same reason.
    private(set) var droppedSequences = RecentNumbers()

    /// Changes the cap (nil: all layers). Down takes effect at the next frame start, up at the
    /// next frame that is safe to start the layer from (`admits`).
    mutating func setTarget(_ layer: UInt8?) {
        target = layer
        if layer != nil, !isEngaged {
            isEngaged = true
            droppedPictures.reserve()
            droppedSequences.reserve()
        }
    }

    /// Whether a packet of the forwarded layer goes out. Only the newest packets move the cap:
    /// a late one (`isLate`: a repair or a reordered packet) is judged by it but changes nothing,
    /// and its drop shifts no numbers (the gap it leaves was there already). `isKeyframe`: the
    /// packet starts a keyframe (it references nothing, so every layer may start there).
    mutating func admits(
        _ descriptor: VP8PayloadDescriptor, sequence: SequenceNumber, isKeyframe: Bool, isLate: Bool
    ) -> Bool {
        // No TID: no temporal scalability, nothing to drop.
        guard let tid = descriptor.temporalLayer else { return true }
        if tid > highestLayerSeen { highestLayerSeen = tid }
        // Only at a frame's first packet (S with PID 0), never inside a frame.
        if !isLate, descriptor.startOfPartition, descriptor.partitionIndex == 0 {
            moveCap(frameLayer: tid, layerSync: descriptor.layerSync, isKeyframe: isKeyframe)
        }
        guard let current, tid > current else { return true }
        guard !isLate else { return false }
        droppedSequences.record(sequence.rawValue)
        if let id = descriptor.pictureID, droppedPictures.latest != id & descriptor.pictureIDMask {
            droppedPictures.record(id & descriptor.pictureIDMask)
            pictureIDOffset &-= 1
        }
        return false
    }

    /// Down: at once (this frame start). Up: on a keyframe, or on a frame with the layer sync
    /// bit Y (it references the base layer only) of a layer up to the target, which then flows
    /// from there (mediasoup's rule). Not on any TID 0 frame: in libwebrtc's L1T3 pattern
    /// (0 2 1 2 0 2 1 2) the frames after the second TL0 reference the golden buffer that the
    /// first TL1 updated, so a subscriber that did not get that frame decodes them against a
    /// stale picture (measured: frames dropped, and once no frame at all for seconds).
    private mutating func moveCap(frameLayer tid: UInt8, layerSync: Bool, isKeyframe: Bool) {
        guard current != target else { return }
        if let target, target < (current ?? .max) {
            current = target
        } else if isKeyframe {
            current = target
        } else if layerSync, let before = current, tid > before, tid <= (target ?? .max) {
            // All the layers the stream has flow: no cap left when none is wanted.
            current = target == nil && tid >= highestLayerSeen ? nil : tid
        }
    }

    /// The picture ID and TL0PICIDX a forwarded packet goes out with (nil where it has none).
    /// `anchored`: the layer selector started the stream anew on this packet (a switch, a
    /// restart: always on a keyframe): the numbers continue from the last ones sent, and the cap
    /// wanted applies at once (nothing before a keyframe is referenced).
    mutating func rewrite(_ descriptor: VP8PayloadDescriptor, anchored: Bool) -> (pictureID: UInt16?, tl0PicIndex: UInt8?) {
        if anchored {
            current = target
            if let id = descriptor.pictureID, let last = lastOutPictureID { pictureIDOffset = (last &+ 1 &- id) & 0x7FFF }
            if let tl0 = descriptor.tl0PicIndex, let last = lastOutTL0 { tl0Offset = last &+ 1 &- tl0 }
            droppedPictures.clear()
            droppedSequences.clear()
        }
        var outID: UInt16?
        if let id = descriptor.pictureID {
            let mask = descriptor.pictureIDMask
            // A late packet of a picture older than some dropped ones: their shift does not apply.
            let laterDrops = droppedPictures.count(newerThan: id & mask, mask: mask) ?? 0
            let out = (id &+ pictureIDOffset &+ UInt16(laterDrops)) & 0x7FFF
            if let last = lastOutPictureID {
                if RecentNumbers.isNewer(out & mask, than: last & mask, mask: mask) { lastOutPictureID = out }
            } else {
                lastOutPictureID = out
            }
            outID = out
        }
        var outTL0: UInt8?
        if let tl0 = descriptor.tl0PicIndex {
            let out = tl0 &+ tl0Offset
            if let last = lastOutTL0 {
                if RecentNumbers.isNewer(UInt16(out), than: UInt16(last), mask: 0xFF) { lastOutTL0 = out }
            } else {
                lastOutTL0 = out
            }
            outTL0 = out
        }
        return (outID, outTL0)
    }
}

extension VP8PayloadDescriptor {
    /// The picture ID's range: 0x7F for 7 bits, 0x7FFF for 15.
    var pictureIDMask: UInt16 { pictureIDBits == 7 ? 0x7F : 0x7FFF }
}

/// The last few numbers of a wrapping counter (sequence numbers, picture IDs) that something
/// happened to, in a fixed ring: how many of them are newer than a given one. Storage is
/// reserved once (`reserve`), never per packet.
struct RecentNumbers {
    static let capacity = 64
    private var values: [UInt16] = []
    private var next = 0
    private(set) var count = 0
    mutating func reserve() {
        if values.isEmpty { values = Array(repeating: 0, count: Self.capacity) }
    }

    mutating func clear() { count = 0 }

    var latest: UInt16? { count == 0 ? nil : values[(next + Self.capacity - 1) % Self.capacity] }

    mutating func record(_ value: UInt16) {
        guard !values.isEmpty else { return }
        values[next] = value
        next = (next + 1) % Self.capacity
        count = min(count + 1, Self.capacity)
    }

    /// How many recorded numbers are newer than `value` (compared within `mask`'s range); nil when
    /// the ring has forgotten some that may be (it is full and its oldest is newer).
    func count(newerThan value: UInt16, mask: UInt16) -> Int? {
        guard count > 0 else { return 0 }
        var newer = 0
        for k in 0..<count {
            let recorded = values[(next + Self.capacity - 1 - k) % Self.capacity]
            if Self.isNewer(recorded & mask, than: value, mask: mask) { newer += 1 } else { return newer }
        }
        return count == Self.capacity ? nil : newer
    }

    /// Wrap-around order within `mask + 1` values: newer by less than half the range.
    static func isNewer(_ a: UInt16, than b: UInt16, mask: UInt16) -> Bool {
        let distance = (a &- b) & mask
        return distance != 0 && distance <= mask / 2
    }
}
