// Shrinks one picture plane by a whole factor, each output sample the mean of the factor x
// factor block under it (a box filter): how a simulcast sender gets its lower layers from the
// one camera frame, so that all three layers show the same picture.

enum PlaneScaler {
    /// Writes `outWidth` x `outHeight` samples; the source must have at least `factor` times
    /// as many in each direction (what is left over at the right and bottom edge is not read).
    static func downscale(
        _ source: UnsafePointer<UInt8>, stride sourceStride: Int, into destination: UnsafeMutablePointer<UInt8>,
        stride destinationStride: Int, outWidth: Int, outHeight: Int, factor: Int
    ) {
        precondition(factor >= 1, "a factor of 1 or more")
        let area = factor * factor
        for row in 0..<outHeight {
            let out = destination + row * destinationStride
            for column in 0..<outWidth {
                var sum = 0
                for dy in 0..<factor {
                    let line = source + (row * factor + dy) * sourceStride + column * factor
                    for dx in 0..<factor { sum += Int(line[dx]) }
                }
                // Rounded to nearest, not truncated: a flat area keeps its value.
                out[column] = UInt8((sum + area / 2) / area)
            }
        }
    }
}
