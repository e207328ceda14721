// The result's JSON shape, the table and the SVG plot (well-formed XML, one mark per step).

import Foundation
import Testing
@testable import LoadTest

#if canImport(FoundationXML)
import FoundationXML
#endif

@Suite struct ReportTests {
    static func result(steps: Int) -> LoadTestResult {
        let clip = PublisherScheduleTests.clip()
        var results: [StepResult] = []
        for step in 1...steps {
            var counters = TrafficCounters()
            counters.audioPacketsSent = 250 * step
            counters.videoPacketsSent = 800 * step
            counters.audioPacketsReceived = 500 * step
            counters.videoPacketsReceived = 1600 * step
            counters.bytesReceived = 2_000_000 * step
            counters.expected = Int64(2100 * step)
            counters.unique = Int64(2100 * step - step)
            for i in 0..<1000 { counters.latency.record(UInt64(200_000 + i * 1000 * step)) }
            let scenario = RampGrowth.subscribers.scenario(base: .preset(.custom), step: step)
            results.append(StepResult(
                step: step, scenario: scenario, connected: scenario.transports, failed: 0, seconds: 5,
                offeredPacketsPerSecond: Double(scenario.subscriptions) * clip.packetsPerSecond, counters: counters,
                serverCPUPercent: step == 1 ? nil : 10.0 * Double(step), serverRSSMegabytes: 50, generatorCPUPercent: 12))
        }
        return LoadTestResult(
            server: "http://127.0.0.1:8080", serverPID: 1234, mode: steps == 1 ? "fixed" : "ramp", rampGrowth: steps == 1 ? nil : .subscribers,
            scenario: .preset(.custom), threads: 1, clip: ClipSummary(clip), lossThresholdPercent: 1, cpuThresholdPercent: 95,
            steps: results, stopReason: "duration", failures: [])
    }

    @Test func jsonHasTheDocumentedShape() throws {
        let text = try Self.result(steps: 2).json()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(object["tool"] as? String == "chorus loadtest")
        #expect(object["mode"] as? String == "ramp")
        let steps = try #require(object["steps"] as? [[String: Any]])
        #expect(steps.count == 2)
        for key in ["forwardedPacketsPerSecond", "offeredPacketsPerSecond", "lossPercent", "duplicates", "latency",
                    "audioPacketsSent", "videoPacketsReceived", "serverRSSMegabytes", "generatorCPUPercent", "sendLag"] {
            #expect(steps[1][key] != nil, "missing \(key)")
        }
        let latency = try #require(steps[0]["latency"] as? [String: Any])
        #expect(Set(latency.keys) == ["samples", "p50Ms", "p90Ms", "p99Ms", "p999Ms", "maxMs", "meanMs"])
        // A step without a server process has no CPU figure rather than a made-up 0.
        #expect(steps[0]["serverCPUPercent"] == nil)
        let decoded = try JSONDecoder().decode(LoadTestResult.self, from: Data(text.utf8))
        #expect(decoded == Self.result(steps: 2))
    }

    @Test func stepFiguresAreDerivedFromTheCounters() {
        let step = Self.result(steps: 1).steps[0]
        #expect(step.forwardedPacketsPerSecond == 420)
        #expect(step.sentPacketsPerSecond == 210)
        #expect(step.lost == 1)
        #expect(abs(step.lossPercent - 100.0 / 2100) < 1e-9)
        #expect(step.latency.samples == 1000)
        #expect(step.latency.p50Ms > 0.69 && step.latency.p50Ms < 0.71)
    }

    @Test func tableHasOneRowPerStep() {
        let table = Self.result(steps: 3).table()
        let lines = table.split(separator: "\n")
        #expect(lines.count == 2 + 3)
        #expect(lines[0].contains("fwd pps") && lines[0].contains("p99 ms") && lines[0].contains("srv CPU %"))
        #expect(lines[2].contains(" - "))  // step 1 has no server CPU
    }

    @Test(arguments: [1, 4])
    func svgIsWellFormedWithOneMarkPerStep(steps: Int) throws {
        let svg = SVGPlot(result: Self.result(steps: steps)).render()
        #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
        #expect(!svg.contains("nan") && !svg.contains("inf"))
        let parser = XMLParser(data: Data(svg.utf8))
        let counter = ElementCounter()
        parser.delegate = counter
        #expect(parser.parse(), "not well-formed: \(String(describing: parser.parserError))")
        #expect(counter.forwardedCircles == steps)
        #expect(counter.latencyMarks == steps)
        #expect(counter.polylines == (steps > 1 ? 2 : 0))
    }

    @Test func svgSurvivesEmptyAndDegenerateData() throws {
        for points in [[], [SVGPlot.Point(offered: 0, forwarded: 0, p99Milliseconds: 0)],
                       [SVGPlot.Point(offered: .nan, forwarded: .infinity, p99Milliseconds: -1)]] {
            let svg = SVGPlot(title: "a <b> & \"c\"", points: points).render()
            #expect(XMLParser(data: Data(svg.utf8)).parse())
            #expect(!svg.lowercased().contains("nan"))
        }
    }

    @Test func niceCeilings() {
        #expect(SVGPlot.niceCeiling(0) == 1)
        #expect(SVGPlot.niceCeiling(0.3) == 0.5)
        #expect(SVGPlot.niceCeiling(420) == 500)
        #expect(SVGPlot.niceCeiling(18_900) == 20_000)
        #expect(SVGPlot.niceCeiling(1000) == 1000)
    }
}

final class ElementCounter: NSObject, XMLParserDelegate {
    var forwardedCircles = 0
    var latencyMarks = 0
    var polylines = 0

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        if name == "polyline" { polylines += 1 }
        if name == "circle", attributes["class"] == "forwarded" { forwardedCircles += 1 }
        if name == "rect", attributes["class"] == "latency" { latencyMarks += 1 }
    }
}
