// Encodes the audio clip with libopus once at start: a two-tone chord with a slow tremolo,
// 48 kHz stereo, 20 ms frames (the WebRTC default ptime), so every packet is a real Opus frame.

import COpus
import Glibc

public enum OpusClipEncoder {
    public static let sampleRate = 48_000
    public static let channels = 2
    /// 20 ms at 48 kHz (RFC 7587 §4.2: the RTP clock is 48 kHz whatever the input rate).
    public static let samplesPerFrame = 960

    public static func encode(packets: Int, bitsPerSecond: Int) throws(LoadTestError) -> [[UInt8]] {
        var error: Int32 = 0
        guard let encoder = opus_encoder_create(Int32(sampleRate), Int32(channels), OPUS_APPLICATION_AUDIO, &error), error == OPUS_OK else {
            throw .codec("opus_encoder_create failed: \(String(cString: opus_strerror(error)))")
        }
        defer { opus_encoder_destroy(encoder) }
        guard chorus_opus_set_bitrate(encoder, Int32(bitsPerSecond)) == OPUS_OK else {
            throw .codec("Opus bitrate \(bitsPerSecond) refused")
        }
        _ = chorus_opus_set_complexity(encoder, 5)
        var output = [UInt8](repeating: 0, count: 1500)
        var out: [[UInt8]] = []
        for index in 0..<packets {
            let pcm = tone(frame: index)
            let length = pcm.withUnsafeBufferPointer { input in
                output.withUnsafeMutableBufferPointer { buffer in
                    opus_encode(encoder, input.baseAddress!, Int32(samplesPerFrame), buffer.baseAddress!, Int32(buffer.count))
                }
            }
            guard length > 0 else { throw .codec("opus_encode failed: \(String(cString: opus_strerror(length)))") }
            out.append(Array(output[0..<Int(length)]))
        }
        return out
    }

    /// Interleaved stereo PCM of frame `index`: 440 Hz left, 660 Hz right, tremolo at 2 Hz.
    static func tone(frame index: Int) -> [Int16] {
        var pcm = [Int16](repeating: 0, count: samplesPerFrame * channels)
        for i in 0..<samplesPerFrame {
            let t = Double(index * samplesPerFrame + i) / Double(sampleRate)
            let envelope = 0.55 + 0.45 * sin(2 * Double.pi * 2 * t)
            pcm[2 * i] = Int16(8000 * envelope * sin(2 * Double.pi * 440 * t))
            pcm[2 * i + 1] = Int16(8000 * envelope * sin(2 * Double.pi * 660 * t))
        }
        return pcm
    }
}
