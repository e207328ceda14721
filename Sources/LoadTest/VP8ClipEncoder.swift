// Encodes the test pattern with libvpx's VP8 encoder once at start, configured as a WebRTC
// sender runs it: one pass, CBR, no lag, no dropped frames, one token partition, the first
// frame a keyframe. The load test then replays these frames. A simulcast layer encodes the same
// pattern shrunk by a whole factor (rendered full size, then box-filtered), as a browser scales
// its camera frame for its lower encodings.

import CVPX

public struct EncodedVideoFrame: Equatable, Sendable {
    public var bytes: [UInt8]
    public var isKeyframe: Bool
}

public enum VP8ClipEncoder {
    public static func encode(
        frames: Int, pattern: TestPattern, framesPerSecond: Int, kilobitsPerSecond: Int, keyframeInterval: Int,
        scaleDown: Int = 1
    ) throws(LoadTestError) -> [EncodedVideoFrame] {
        let width = (pattern.width / max(1, scaleDown)) & ~1
        let height = (pattern.height / max(1, scaleDown)) & ~1
        guard scaleDown >= 1, width >= 16, height >= 16 else {
            throw .codec("a \(pattern.width)x\(pattern.height) picture shrunk by \(scaleDown) is below libvpx's 16x16")
        }
        var config = vpx_codec_enc_cfg_t()
        guard chorus_vpx_vp8_encoder_config(&config) == VPX_CODEC_OK else { throw .codec("vpx_codec_enc_config_default failed") }
        config.g_w = UInt32(width)
        config.g_h = UInt32(height)
        config.g_timebase = vpx_rational(num: 1, den: Int32(framesPerSecond))
        config.g_threads = 1
        config.g_lag_in_frames = 0
        config.g_pass = VPX_RC_ONE_PASS
        config.g_error_resilient = vpx_codec_er_flags_t(VPX_ERROR_RESILIENT_DEFAULT)
        config.rc_end_usage = VPX_CBR
        config.rc_target_bitrate = UInt32(kilobitsPerSecond)
        // libwebrtc's VP8 settings: quantizer 2...56, a 1 s buffer, no frame dropping here so
        // that the clip has a frame every 1/fps.
        config.rc_min_quantizer = 2
        config.rc_max_quantizer = 56
        config.rc_dropframe_thresh = 0
        config.rc_undershoot_pct = 100
        config.rc_overshoot_pct = 15
        config.rc_buf_sz = 1000
        config.rc_buf_initial_sz = 500
        config.rc_buf_optimal_sz = 600
        config.kf_mode = VPX_KF_AUTO
        config.kf_min_dist = UInt32(keyframeInterval)
        config.kf_max_dist = UInt32(keyframeInterval)

        var codec = vpx_codec_ctx_t()
        guard chorus_vpx_vp8_encoder_init(&codec, &config) == VPX_CODEC_OK else {
            throw .codec("VP8 encoder init failed: \(String(cString: vpx_codec_error(&codec)))")
        }
        defer { vpx_codec_destroy(&codec) }
        _ = chorus_vpx_set_cpu_used(&codec, 8)
        _ = chorus_vpx_set_token_partitions(&codec, 0)

        guard let image = vpx_img_alloc(nil, VPX_IMG_FMT_I420, UInt32(width), UInt32(height), 16) else {
            throw .codec("vpx_img_alloc failed")
        }
        defer { vpx_img_free(image) }
        // The full-size picture a shrunk layer is made from (unused at scale 1).
        let full = scaleDown > 1 ? vpx_img_alloc(nil, VPX_IMG_FMT_I420, UInt32(pattern.width), UInt32(pattern.height), 16) : nil
        if scaleDown > 1, full == nil { throw .codec("vpx_img_alloc failed") }
        defer { if let full { vpx_img_free(full) } }

        var out: [EncodedVideoFrame] = []
        for index in 0..<frames {
            let planes = image.pointee.planes
            let strides = image.pointee.stride
            if let full {
                let source = full.pointee.planes
                let sourceStrides = full.pointee.stride
                pattern.render(
                    frame: index, y: source.0!, yStride: Int(sourceStrides.0), u: source.1!, v: source.2!,
                    chromaStride: Int(sourceStrides.1))
                PlaneScaler.downscale(
                    source.0!, stride: Int(sourceStrides.0), into: planes.0!, stride: Int(strides.0), outWidth: width,
                    outHeight: height, factor: scaleDown)
                for (from, to) in [(source.1!, planes.1!), (source.2!, planes.2!)] {
                    PlaneScaler.downscale(
                        from, stride: Int(sourceStrides.1), into: to, stride: Int(strides.1), outWidth: width / 2,
                        outHeight: height / 2, factor: scaleDown)
                }
            } else {
                pattern.render(
                    frame: index, y: planes.0!, yStride: Int(strides.0), u: planes.1!, v: planes.2!, chromaStride: Int(strides.1))
            }
            // Force the keyframes ourselves: the clip's loop point must be one.
            let flags: vpx_enc_frame_flags_t = index % keyframeInterval == 0 ? vpx_enc_frame_flags_t(VPX_EFLAG_FORCE_KF) : 0
            guard vpx_codec_encode(&codec, image, vpx_codec_pts_t(index), 1, flags, UInt(VPX_DL_REALTIME)) == VPX_CODEC_OK else {
                throw .codec("vpx_codec_encode failed: \(String(cString: vpx_codec_error(&codec)))")
            }
            var iterator: vpx_codec_iter_t? = nil
            var produced = false
            while let packet = vpx_codec_get_cx_data(&codec, &iterator) {
                guard chorus_vpx_packet_is_frame(packet) != 0 else { continue }
                let bytes = UnsafeRawBufferPointer(start: chorus_vpx_frame_bytes(packet), count: chorus_vpx_frame_size(packet))
                out.append(EncodedVideoFrame(bytes: Array(bytes), isKeyframe: chorus_vpx_frame_is_key(packet) != 0))
                produced = true
            }
            guard produced else { throw .codec("VP8 encoder produced no frame for picture \(index)") }
        }
        return out
    }
}
