// libvpx from Debian (libvpx-dev), for the load generator's VP8 clip. The init and control
// entry points are macros over versioned or variadic functions, which Swift cannot call, so
// they are wrapped here, with accessors for the compressed-frame member of a packet's union.
#ifndef CHORUS_CVPX_SHIM_H
#define CHORUS_CVPX_SHIM_H

#include <vpx/vpx_encoder.h>
#include <vpx/vpx_decoder.h>
#include <vpx/vp8cx.h>
#include <vpx/vp8dx.h>

static inline vpx_codec_err_t chorus_vpx_vp8_encoder_config(vpx_codec_enc_cfg_t *config) {
    return vpx_codec_enc_config_default(vpx_codec_vp8_cx(), config, 0);
}

static inline vpx_codec_err_t chorus_vpx_vp8_encoder_init(vpx_codec_ctx_t *codec, const vpx_codec_enc_cfg_t *config) {
    return vpx_codec_enc_init(codec, vpx_codec_vp8_cx(), config, 0);
}

static inline vpx_codec_err_t chorus_vpx_vp8_decoder_init(vpx_codec_ctx_t *codec) {
    return vpx_codec_dec_init(codec, vpx_codec_vp8_dx(), NULL, 0);
}

/// VP8E_SET_CPUUSED: -16...16; higher is faster (realtime encoders use 6 and up).
static inline vpx_codec_err_t chorus_vpx_set_cpu_used(vpx_codec_ctx_t *codec, int value) {
    return vpx_codec_control(codec, VP8E_SET_CPUUSED, value);
}

/// VP8E_SET_TOKEN_PARTITIONS as a log2 count (0 = one partition, as in a WebRTC call).
static inline vpx_codec_err_t chorus_vpx_set_token_partitions(vpx_codec_ctx_t *codec, int log2Count) {
    return vpx_codec_control(codec, VP8E_SET_TOKEN_PARTITIONS, log2Count);
}

static inline int chorus_vpx_packet_is_frame(const vpx_codec_cx_pkt_t *packet) {
    return packet->kind == VPX_CODEC_CX_FRAME_PKT;
}

static inline const void *chorus_vpx_frame_bytes(const vpx_codec_cx_pkt_t *packet) {
    return packet->data.frame.buf;
}

static inline size_t chorus_vpx_frame_size(const vpx_codec_cx_pkt_t *packet) {
    return packet->data.frame.sz;
}

static inline int chorus_vpx_frame_is_key(const vpx_codec_cx_pkt_t *packet) {
    return (packet->data.frame.flags & VPX_FRAME_IS_KEY) != 0;
}

#endif
