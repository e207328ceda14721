// A synthetic moving picture for the video clip: bars that scroll, a box that travels and a
// band of fine texture, so that VP8 has motion to predict and detail to spend bits on, as a
// camera would give it, at the rate a call's video runs (~1-2 Mbit/s at 640x360).

public struct TestPattern: Sendable {
    public let width: Int
    public let height: Int

    public init(width: Int, height: Int) {
        precondition(width > 0 && height > 0 && width % 2 == 0 && height % 2 == 0, "I420 needs even dimensions")
        self.width = width
        self.height = height
    }

    /// Writes frame `index` as I420 into three planes with the given strides.
    public func render(
        frame index: Int, y: UnsafeMutablePointer<UInt8>, yStride: Int, u: UnsafeMutablePointer<UInt8>,
        v: UnsafeMutablePointer<UInt8>, chromaStride: Int
    ) {
        let t = index
        let boxSize = height / 3
        let boxX = (t * 7) % max(1, width - boxSize)
        let boxY = (t * 3) % max(1, height - boxSize)
        let textureTop = height * 2 / 3
        for row in 0..<height {
            let line = y + row * yStride
            for column in 0..<width {
                var value: Int
                if row >= textureTop {
                    // Fine texture that moves 3 pixels a frame: predictable in parts, costly in detail.
                    value = Int(Self.hash(column + t * 3, row) & 0x7F) + 64
                } else {
                    value = ((column + t * 4) / 16 % 2 == 0 ? 180 : 60) + (row * 64 / height)
                }
                if column >= boxX, column < boxX + boxSize, row >= boxY, row < boxY + boxSize {
                    value = ((column - boxX) / 8 + (row - boxY) / 8) % 2 == 0 ? 235 : 16
                }
                line[column] = UInt8(clamping: value)
            }
        }
        for row in 0..<(height / 2) {
            let uLine = u + row * chromaStride
            let vLine = v + row * chromaStride
            for column in 0..<(width / 2) {
                uLine[column] = UInt8(truncatingIfNeeded: 128 + ((column * 2 + t * 4) / 32 % 4) * 16 - 24)
                vLine[column] = UInt8(truncatingIfNeeded: 128 + (row * 2 * 96 / height) - 48)
            }
        }
    }

    /// A cheap deterministic per-pixel value (a few rounds of integer mixing).
    @inline(__always)
    static func hash(_ x: Int, _ y: Int) -> UInt32 {
        var h = UInt32(truncatingIfNeeded: x) &* 0x9E37_79B1 ^ UInt32(truncatingIfNeeded: y) &* 0x85EB_CA77
        h ^= h >> 15
        h = h &* 0x2C1B_3C6D
        h ^= h >> 12
        return h
    }
}
