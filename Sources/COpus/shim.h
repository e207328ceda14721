// libopus from Debian (libopus-dev), for the load generator's audio clip. opus_encoder_ctl is
// variadic, which Swift cannot call, so the few requests it makes are wrapped here.
#ifndef CHORUS_COPUS_SHIM_H
#define CHORUS_COPUS_SHIM_H

#include <opus.h>

static inline int chorus_opus_set_bitrate(OpusEncoder *encoder, opus_int32 bitsPerSecond) {
    return opus_encoder_ctl(encoder, OPUS_SET_BITRATE(bitsPerSecond));
}

static inline int chorus_opus_set_complexity(OpusEncoder *encoder, opus_int32 complexity) {
    return opus_encoder_ctl(encoder, OPUS_SET_COMPLEXITY(complexity));
}

#endif
