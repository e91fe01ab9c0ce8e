import IntakeMeter
import Testing

@Suite struct MeterJudgeTests {
    let hour: Int64 = 3_600_000
    let limits = MeterLimits(unit: "m3", tolerance: 0.001, maximumRatePerHour: 2, decimals: 3)

    func manual(_ hours: Int64, _ value: Double) -> ManualReading { ManualReading(meter: "M", readAt: hours * hour, value: value) }

    @Test func aReadingBetweenTheManualReadingsMatches() {
        let verdict = MeterJudge.judge(value: 530.5, capturedAt: 5 * hour, manual: [manual(0, 530), manual(10, 531)], history: [], limits: limits)
        #expect(verdict.status == .match && verdict.delta == 0)
        #expect(verdict.reason == "read 530.500 m3, expected 530.000 to 531.000 m3")
        #expect(verdict.manual == manual(0, 530) || verdict.manual == manual(10, 531))
    }

    @Test func aReadingOutsideIsAMismatchWithItsDelta() {
        let verdict = MeterJudge.judge(value: 531.3, capturedAt: 5 * hour, manual: [manual(0, 530), manual(10, 531)], history: [], limits: limits)
        #expect(verdict.status == .mismatch)
        #expect(abs(verdict.delta! - 0.3) < 1e-9)
        #expect(verdict.reason == "read 531.300 m3, expected 530.000 to 531.000 m3: +0.300 m3 off")
        let low = MeterJudge.judge(value: 529.9, capturedAt: 5 * hour, manual: [manual(0, 530), manual(10, 531)], history: [], limits: limits)
        #expect(abs(low.delta! + 0.1) < 1e-9)
    }

    @Test func toleranceAbsorbsRounding() {
        let verdict = MeterJudge.judge(value: 531.0005, capturedAt: 5 * hour, manual: [manual(0, 530), manual(10, 531)], history: [], limits: limits)
        #expect(verdict.status == .match)
    }

    @Test func withOnlyAnEarlierReadingTheMaximumRateBoundsTheRange() {
        // 3 hours after 530 at most 2 m3/h: 530 to 536.
        let fine = MeterJudge.judge(value: 535, capturedAt: 3 * hour, manual: [manual(0, 530)], history: [], limits: limits)
        #expect(fine.status == .match)
        let tooFar = MeterJudge.judge(value: 540, capturedAt: 3 * hour, manual: [manual(0, 530)], history: [], limits: limits)
        #expect(tooFar.status == .mismatch && abs(tooFar.delta! - 4) < 1e-9)
        let backwards = MeterJudge.judge(value: 529, capturedAt: 3 * hour, manual: [manual(0, 530)], history: [], limits: limits)
        #expect(backwards.status == .mismatch && backwards.delta! < 0)
    }

    @Test func noManualReadingMeansNoReference() {
        let verdict = MeterJudge.judge(value: 1, capturedAt: 0, manual: [], history: [], limits: limits)
        #expect(verdict.status == .noReference && verdict.delta == nil)
    }

    @Test func plausibilityCatchesBackwardsAndTooFast() {
        let history = [AcceptedReading(capturedAt: 0, value: 530), AcceptedReading(capturedAt: 10 * hour, value: 540)]
        let backwards = MeterJudge.judge(value: 529.5, capturedAt: 2 * hour, manual: [], history: history, limits: limits)
        #expect(backwards.plausibility?.contains("never runs backwards") == true)
        let fast = MeterJudge.judge(value: 539, capturedAt: 1 * hour, manual: [], history: history, limits: limits)
        #expect(fast.plausibility?.contains("implies 9.000 m3/h") == true)
        let normal = MeterJudge.judge(value: 531, capturedAt: 2 * hour, manual: [], history: history, limits: limits)
        #expect(normal.plausibility == nil)
    }

    @Test func oneRejectedReadingDoesNotLockTheMeterOut() {
        // A wrong 999 was never accepted, so it is not in the history: the next good reading passes.
        let history = [AcceptedReading(capturedAt: 0, value: 530)]
        let next = MeterJudge.judge(value: 531, capturedAt: 2 * hour, manual: [manual(0, 530), manual(4, 532)], history: history, limits: limits)
        #expect(next.status == .match && next.plausibility == nil)
    }
}
