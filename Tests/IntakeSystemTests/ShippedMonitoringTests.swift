import Foundation
import IntakeTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The alerting rules and the dashboard shipped in etc/: valid for the tools that read them.
/// (That they name only metrics intake exports is checked against a real /metrics in WebServeTests.)
@Suite struct ShippedMonitoringTests {
    /// promtool on the PATH, or where `scripts/install-deps.sh --test` unpacks it from Debian's
    /// prometheus package (without installing a Prometheus server).
    static let promtool: String? = {
        let candidates = (getenv("PATH").map { String(cString: $0) } ?? "").split(separator: ":").map { "\($0)/promtool" }
            + [Fixtures.packageRoot + "/.build/tools/promtool"]
        return candidates.first { access($0, X_OK) == 0 }
    }()

    @Test(.enabled(if: promtool != nil, "needs promtool (scripts/install-deps.sh --test unpacks it from Debian's prometheus)"))
    func theAlertingRulesPassPromtoolsCheckAndTheirOwnUnitTests() throws {
        let folder = Fixtures.packageRoot + "/etc/prometheus"
        let check = try ChildProcess.run(try #require(Self.promtool), ["check", "rules", folder + "/intake-rules.yml"])
        #expect(check.status == 0, "\(check.standardOutput)\(check.standardError)")
        #expect(check.standardOutput.contains("SUCCESS: 9 rules found"), "\(check.standardOutput)")
        // The rule tests fire each alert on the series it is meant for (and not on a healthy one).
        let test = try ChildProcess.run(try #require(Self.promtool), ["test", "rules", folder + "/intake-rules.test.yml"])
        #expect(test.status == 0, "\(test.standardOutput)\(test.standardError)")
    }

    @Test func theDashboardIsGrafanaJSONWithAQueryInEveryPanel() throws {
        let bytes = try #require(Fixtures.readFile(Fixtures.packageRoot + "/etc/grafana/intake-dashboard.json"))
        let dashboard = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        #expect(dashboard["uid"] as? String == "intake-overview")
        let panels = try #require(dashboard["panels"] as? [[String: Any]])
        #expect(panels.count >= 10)
        for panel in panels {
            let targets = try #require(panel["targets"] as? [[String: Any]], "panel \(panel["title"] ?? "?") has no targets")
            #expect(!targets.isEmpty)
            for target in targets { #expect((target["expr"] as? String)?.contains("intake_") == true) }
        }
    }
}
