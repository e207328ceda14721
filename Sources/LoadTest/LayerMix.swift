// Which simulcast layer each subscription asks for in a `--simulcast` run: in turn 0, 1, 2, 0,
// ... in the order subscriptions are made, so a third of them takes each layer (as a grid of
// small tiles, a few middle ones and a large speaker would), and what the SFU then owes them.

public enum LayerMix {
    /// The spatial layer the `index`-th subscription of the run asks for.
    public static func layer(forSubscription index: Int, layers: Int) -> Int {
        precondition(layers >= 1, "at least one layer")
        return index % layers
    }

    /// Packets per second the SFU should forward to the first `subscriptions` subscriptions:
    /// each gets the audio and the one video layer it asked for (the SFU forwards exactly one
    /// layer per subscriber); without simulcast, audio and the only video.
    public static func offeredPacketsPerSecond(subscriptions: Int, clip: MediaClip) -> Double {
        guard !clip.layers.isEmpty else { return Double(subscriptions) * clip.packetsPerSecond }
        var total = Double(subscriptions) * clip.audioPacketsPerSecond
        for layer in clip.layers.indices {
            // Subscriptions 0..<n that ask for `layer`: every `count`-th, starting at `layer`.
            let asking = subscriptions > layer ? (subscriptions - layer - 1) / clip.layers.count + 1 : 0
            total += Double(asking) * clip.videoPacketsPerSecond(layer: layer)
        }
        return total
    }
}
