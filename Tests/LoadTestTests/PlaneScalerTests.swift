// The box filter that makes a simulcast layer's picture from the full one.

import Testing
@testable import LoadTest

@Suite struct PlaneScalerTests {
    @Test func eachSampleIsTheRoundedMeanOfItsBlock() {
        // 5x4 with a stride of 6; the fifth column is left over at factor 2 and never read.
        let source: [UInt8] = [
            0, 2, 10, 10, 255, 99,
            2, 1, 10, 11, 255, 99,
            100, 100, 7, 8, 255, 99,
            100, 101, 9, 10, 255, 99,
        ]
        var out = [UInt8](repeating: 0xEE, count: 2 * 3)
        source.withUnsafeBufferPointer { from in
            out.withUnsafeMutableBufferPointer { to in
                PlaneScaler.downscale(from.baseAddress!, stride: 6, into: to.baseAddress!, stride: 3, outWidth: 2, outHeight: 2, factor: 2)
            }
        }
        // (0+2+2+1)/4 = 1.25 → 1; (10+10+10+11)/4 = 10.25 → 10; 401/4 = 100.25 → 100; 34/4 = 8.5 → 9.
        // The destination's third column (its stride's padding) is untouched.
        #expect(out == [1, 10, 0xEE, 100, 9, 0xEE])
    }

    @Test func factorOneCopies() {
        let source: [UInt8] = [1, 2, 3, 4]
        var out = [UInt8](repeating: 0, count: 4)
        source.withUnsafeBufferPointer { from in
            out.withUnsafeMutableBufferPointer { to in
                PlaneScaler.downscale(from.baseAddress!, stride: 2, into: to.baseAddress!, stride: 2, outWidth: 2, outHeight: 2, factor: 1)
            }
        }
        #expect(out == source)
    }
}
