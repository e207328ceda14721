// @ts-check
// Simulcast in group calls: the camera goes out in up to three sizes (rid q/h/f), and each tile
// asks the SFU for the size it shows (`sfu-layers`), so a small tile costs the small layer's
// bits and decoding while the large view still gets the full picture.

/**
 * The camera of a group call. Larger than a 1-to-1 call's (call.js), because with simulcast a
 * receiver only pays for the full size when it shows it large; 15 fps keeps three browsers and
 * the SFU within a two-core machine's reach.
 */
export const GROUP_VIDEO_CONSTRAINTS = {
  width: { ideal: 640, max: 640 }, height: { ideal: 360, max: 480 }, frameRate: { ideal: 15, max: 15 },
};

/**
 * The layers, lowest first, each a fixed fraction of the camera's width so that a receiver
 * knows a layer's width without asking. Bitrates are about what libwebrtc gives these sizes at
 * 15 fps; the highest is where a 640x360 picture stops looking better.
 */
export const LAYERS = [
  { rid: "q", scaleResolutionDownBy: 4, maxBitrate: 120_000 },
  { rid: "h", scaleResolutionDownBy: 2, maxBitrate: 350_000 },
  { rid: "f", scaleResolutionDownBy: 1, maxBitrate: 900_000 },
];

/**
 * How many layers a camera this wide gets: as many as libwebrtc sends (its simulcast table
 * enables three from 960x540 and two from 480x270; a layer asked for beyond that is never sent,
 * and a receiver asking for it would wait for nothing).
 * @param {number} width
 */
function layerCount(width) {
  if (width >= 960) return 3;
  if (width >= 480) return 2;
  return 1;
}

/**
 * The layers a camera this wide sends: the top ones of LAYERS (so the full size is always there).
 * @param {number} width
 */
function layersFor(width) {
  return LAYERS.slice(LAYERS.length - layerCount(width));
}

/** The layers of the camera GROUP_VIDEO_CONSTRAINTS gives: what a receiver expects of a web client. */
const NOMINAL_WIDTH = GROUP_VIDEO_CONSTRAINTS.width.ideal;
const NOMINAL_LAYERS = layersFor(NOMINAL_WIDTH);

/**
 * The encodings for a camera track (for addTransceiver's sendEncodings), lowest first as the
 * SFU numbers spatial layers; undefined when the camera is too small for more than one.
 * @param {MediaStreamTrack} track
 * @returns {RTCRtpEncodingParameters[] | undefined}
 */
export function simulcastEncodings(track) {
  const layers = layersFor(track.getSettings().width ?? 0);
  if (layers.length < 2) return undefined;
  return layers.map(({ rid, scaleResolutionDownBy, maxBitrate }) => ({ rid, scaleResolutionDownBy, maxBitrate }));
}

/**
 * The spatial layer for a tile `cssWidth` CSS pixels wide: the lowest whose width covers the
 * tile's device pixels, with 20% grace (upscaling that little does not show, and the next layer
 * costs about three times the bits). A layer the publisher does not send is capped by the SFU.
 * @param {number} cssWidth
 * @param {number} [pixelRatio]
 * @returns {number} 0 for the smallest layer
 */
export function layerForWidth(cssWidth, pixelRatio = globalThis.devicePixelRatio || 1) {
  const needed = cssWidth * pixelRatio * 0.8;
  const highest = NOMINAL_LAYERS.length - 1;
  for (let spatial = 0; spatial < highest; spatial++) {
    if (NOMINAL_WIDTH / NOMINAL_LAYERS[spatial].scaleResolutionDownBy >= needed) return spatial;
  }
  return highest;
}
