// The plot of a run, hand-written SVG: forwarded packets per second (left axis) and p99 added
// latency (right axis) against offered load, one point per step.

import Foundation

public struct SVGPlot: Sendable {
    public struct Point: Equatable, Sendable {
        public var offered: Double
        public var forwarded: Double
        public var p99Milliseconds: Double

        public init(offered: Double, forwarded: Double, p99Milliseconds: Double) {
            self.offered = offered
            self.forwarded = forwarded
            self.p99Milliseconds = p99Milliseconds
        }
    }

    public var title: String
    public var points: [Point]
    static let width = 760.0
    static let height = 440.0
    static let left = 80.0, right = 80.0, top = 50.0, bottom = 60.0

    /// Values that cannot be drawn (NaN, infinite, negative, absurdly large) are drawn as 0.
    public init(title: String, points: [Point]) {
        let clean = { (v: Double) in v.isFinite && v > 0 && v < 1e12 ? v : 0 }
        self.title = title
        self.points = points.map {
            Point(offered: clean($0.offered), forwarded: clean($0.forwarded), p99Milliseconds: clean($0.p99Milliseconds))
        }
    }

    public init(result: LoadTestResult) {
        self.init(
            title: "chorus loadtest: \(result.scenario.name), \(result.mode)",
            points: result.steps.map {
                Point(offered: $0.offeredPacketsPerSecond, forwarded: $0.forwardedPacketsPerSecond, p99Milliseconds: $0.latency.p99Ms)
            })
    }

    public func render() -> String {
        let plotWidth = Self.width - Self.left - Self.right
        let plotHeight = Self.height - Self.top - Self.bottom
        let bottomEdge = Self.top + plotHeight
        // Forwarded against offered on one scale: the dashed diagonal is "everything forwarded".
        let scaleMax = Self.niceCeiling(max(points.map(\.offered).max() ?? 0, points.map(\.forwarded).max() ?? 0, 1))
        let latencyMax = Self.niceCeiling(max(points.map(\.p99Milliseconds).max() ?? 0, 0.1))
        let x = { (v: Double) in Self.left + v / scaleMax * plotWidth }
        let y = { (v: Double) in bottomEdge - v / scaleMax * plotHeight }
        let yLatency = { (v: Double) in bottomEdge - v / latencyMax * plotHeight }
        let blue = "#1f5fbf", orange = "#d9480f"

        var svg: [String] = [
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Self.number(Self.width))\" height=\"\(Self.number(Self.height))\" "
                + "viewBox=\"0 0 \(Self.number(Self.width)) \(Self.number(Self.height))\" font-family=\"sans-serif\" font-size=\"12\">",
            Self.tag("rect", ["width": "100%", "height": "100%", "fill": "white"]),
            Self.tag("text", ["x": Self.number(Self.width / 2), "y": "24", "text-anchor": "middle", "font-size": "15"], text: title),
        ]
        for i in 0...5 {
            let fraction = Double(i) / 5
            let gx = Self.left + fraction * plotWidth
            let gy = bottomEdge - fraction * plotHeight
            svg += [
                Self.line(Self.left, gy, Self.left + plotWidth, gy, stroke: "#e0e0e0"),
                Self.line(gx, Self.top, gx, bottomEdge, stroke: "#e0e0e0"),
                Self.tag("text", ["x": Self.number(gx), "y": Self.number(bottomEdge + 18), "text-anchor": "middle"], text: Self.label(fraction * scaleMax)),
                Self.tag("text", ["x": Self.number(Self.left - 8), "y": Self.number(gy + 4), "text-anchor": "end", "fill": blue],
                         text: Self.label(fraction * scaleMax)),
                Self.tag("text", ["x": Self.number(Self.left + plotWidth + 8), "y": Self.number(gy + 4), "fill": orange],
                         text: Self.label(fraction * latencyMax)),
            ]
        }
        svg += [
            Self.tag("rect", ["x": Self.number(Self.left), "y": Self.number(Self.top), "width": Self.number(plotWidth),
                              "height": Self.number(plotHeight), "fill": "none", "stroke": "#333"]),
            Self.line(x(0), y(0), x(scaleMax), y(scaleMax), stroke: "#999", dashed: true),
            Self.tag("text", ["x": Self.number(Self.left + plotWidth / 2), "y": Self.number(Self.height - 16), "text-anchor": "middle"],
                     text: "offered load (packets/s the SFU should forward)"),
            Self.tag("text", ["transform": "translate(20 \(Self.number(Self.top + plotHeight / 2))) rotate(-90)", "text-anchor": "middle",
                              "fill": blue], text: "forwarded packets/s"),
            Self.tag("text", ["transform": "translate(\(Self.number(Self.width - 18)) \(Self.number(Self.top + plotHeight / 2))) rotate(90)",
                              "text-anchor": "middle", "fill": orange], text: "p99 added latency (ms)"),
        ]
        let sorted = points.sorted { $0.offered < $1.offered }
        if sorted.count > 1 {
            let forwarded = sorted.map { "\(Self.number(x($0.offered))),\(Self.number(y($0.forwarded)))" }.joined(separator: " ")
            let latency = sorted.map { "\(Self.number(x($0.offered))),\(Self.number(yLatency($0.p99Milliseconds)))" }.joined(separator: " ")
            svg.append(Self.tag("polyline", ["class": "forwarded", "points": forwarded, "fill": "none", "stroke": blue, "stroke-width": "2"]))
            svg.append(Self.tag("polyline", ["class": "latency", "points": latency, "fill": "none", "stroke": orange, "stroke-width": "2"]))
        }
        for point in sorted {
            svg.append(Self.tag(
                "circle", ["class": "forwarded", "cx": Self.number(x(point.offered)), "cy": Self.number(y(point.forwarded)), "r": "4", "fill": blue],
                child: Self.tag("title", [:], text: "offered \(Int(point.offered.rounded())) pps, forwarded \(Int(point.forwarded.rounded())) pps")))
            svg.append(Self.tag(
                "rect", ["class": "latency", "x": Self.number(x(point.offered) - 4), "y": Self.number(yLatency(point.p99Milliseconds) - 4),
                         "width": "8", "height": "8", "fill": orange],
                child: Self.tag("title", [:], text: "p99 \(Self.number(point.p99Milliseconds)) ms")))
        }
        svg += [
            Self.tag("circle", ["cx": Self.number(Self.left + 12), "cy": Self.number(Self.top + 14), "r": "4", "fill": blue]),
            Self.tag("text", ["x": Self.number(Self.left + 22), "y": Self.number(Self.top + 18)], text: "forwarded pps"),
            Self.tag("rect", ["x": Self.number(Self.left + 128), "y": Self.number(Self.top + 10), "width": "8", "height": "8", "fill": orange]),
            Self.tag("text", ["x": Self.number(Self.left + 142), "y": Self.number(Self.top + 18)], text: "p99 latency"),
            "</svg>",
        ]
        return svg.joined(separator: "\n") + "\n"
    }

    /// One element; attributes in a fixed (sorted) order so the output is reproducible.
    static func tag(_ name: String, _ attributes: [String: String], text: String? = nil, child: String? = nil) -> String {
        let attributeText = attributes.sorted { $0.key < $1.key }.map { " \($0.key)=\"\(escape($0.value))\"" }.joined()
        if let text { return "<\(name)\(attributeText)>\(escape(text))</\(name)>" }
        if let child { return "<\(name)\(attributeText)>\(child)</\(name)>" }
        return "<\(name)\(attributeText)/>"
    }

    static func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String, dashed: Bool = false) -> String {
        var attributes = ["x1": number(x1), "y1": number(y1), "x2": number(x2), "y2": number(y2), "stroke": stroke]
        if dashed { attributes["stroke-dasharray"] = "4 4" }
        return tag("line", attributes)
    }

    /// 1, 2 or 5 times a power of ten, at or above `value`.
    static func niceCeiling(_ value: Double) -> Double {
        guard value > 0, value.isFinite else { return 1 }
        var magnitude = 1.0
        while magnitude * 10 <= value { magnitude *= 10 }
        while magnitude > value { magnitude /= 10 }
        for step in [1.0, 2.0, 5.0, 10.0] where step * magnitude >= value { return step * magnitude }
        return 10 * magnitude
    }

    /// Coordinates with at most two decimals, never NaN or infinite (SVG would reject them).
    static func number(_ value: Double) -> String {
        guard value.isFinite, abs(value) < 1e15 else { return "0" }
        let rounded = (value * 100).rounded() / 100
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    }

    static func label(_ value: Double) -> String {
        guard value.isFinite, abs(value) < 1e15 else { return "0" }
        if value >= 10_000 { return "\(Int((value / 1000).rounded()))k" }
        if value >= 100 { return String(Int(value.rounded())) }
        return number(value)
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
