// The three encodings a `--simulcast` publisher sends, as Chromium's RID simulcast does for a
// camera: quarter, half and full width of the same picture, lowest first (`a=simulcast:send
// q;h;f`), each with its own SSRC and a share of the bitrate.

public struct SimulcastLayerSpec: Equatable, Sendable, Codable {
    /// The RID (RFC 8851) of the encoding, as Chromium names its three.
    public var rid: String
    /// The full picture's width and height are divided by this.
    public var scaleDown: Int
    /// Share of the full layer's bitrate. libwebrtc's simulcast table (simulcast.cc,
    /// kSimulcastFormats) gives 320x180 at most 200 kbit/s, 640x360 700 and 1280x720 2500: a
    /// quarter-width layer gets about 8 %, a half-width one about 28 % of the full one.
    public var bitrateShare: Double
}

public enum SimulcastLayout {
    /// Lowest first: the order of the offer's `a=simulcast` line, so the SFU's spatial layer n
    /// is `layers[n]`.
    public static let layers = [
        SimulcastLayerSpec(rid: "q", scaleDown: 4, bitrateShare: 0.08),
        SimulcastLayerSpec(rid: "h", scaleDown: 2, bitrateShare: 0.28),
        SimulcastLayerSpec(rid: "f", scaleDown: 1, bitrateShare: 1),
    ]

    public static var rids: [String] { layers.map(\.rid) }

    /// A layer's picture size: the full size divided and rounded down to even numbers, since
    /// I420 has one chroma sample per 2x2 pixels (Chromium rounds its scaled sizes down too).
    public static func size(of layer: SimulcastLayerSpec, width: Int, height: Int) -> (width: Int, height: Int) {
        ((width / layer.scaleDown) & ~1, (height / layer.scaleDown) & ~1)
    }

    /// A layer's target bitrate, never below 50 kbit/s (what libvpx's CBR still keeps to at
    /// these sizes, and the least `--video-kbps` takes).
    public static func kilobitsPerSecond(of layer: SimulcastLayerSpec, full: Int) -> Int {
        max(50, Int((Double(full) * layer.bitrateShare).rounded()))
    }
}
