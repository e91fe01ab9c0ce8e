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

    @Test func aManualReadingInAnotherUnitOfTheSameQuantityIsConverted() {
        // Written down in litres for a meter that counts cubic metres: 530,100 L is 530.1 m3.
        let litres = [ManualReading(meter: "M", readAt: 0, value: 530_100, unit: "litres"), ManualReading(meter: "M", readAt: 10 * hour, value: 531, unit: "m³")]
        let verdict = MeterJudge.judge(value: 530.5, capturedAt: 2 * hour, manual: litres, history: [], limits: limits)
        #expect(verdict.status == .match)
        #expect(verdict.manual?.value == 530.1 && verdict.manual?.unit == "m3")
        #expect(verdict.reason.contains("the manual reading of 530100.000 litres taken as 530.100 m3"))
        // Unconverted, 530.5 would have been a mismatch of about -529,570.
        #expect(MeterJudge.judge(value: 529, capturedAt: 2 * hour, manual: litres, history: [], limits: limits).status == .mismatch)
        #expect(MeterUnit.factor(from: "kWh", to: "MWh") == 0.001 && MeterUnit.factor(from: "M^3", to: "m3") == 1)
    }

    @Test func aManualReadingOfAnotherQuantityIsNotComparedAndSaysWhy() {
        let energy = [ManualReading(meter: "M", readAt: 0, value: 530, unit: "kWh")]
        let verdict = MeterJudge.judge(value: 530.5, capturedAt: 2 * hour, manual: energy, history: [], limits: limits)
        #expect(verdict.status == .noReference)
        #expect(verdict.reason == "the manual readings are in kWh, which cannot be compared with the meter's m3")
        // One comparable reading is enough; the other is left out.
        let mixed = energy + [manual(4, 531)]
        let judged = MeterJudge.judge(value: 530.5, capturedAt: 2 * hour, manual: mixed, history: [], limits: limits)
        #expect(judged.status == .match && judged.manual == manual(4, 531))
    }

    @Test func manualReadingsTakenAtOneTimeThatDisagreeEachStand() {
        // Two readings at hour 0 (530 and 530.4): whichever is right, 530.1 and 530.5 are possible.
        let twice = [manual(0, 530), manual(0, 530.4), manual(10, 531)]
        for value in [530.1, 530.5] {
            let verdict = MeterJudge.judge(value: value, capturedAt: 5 * hour, manual: twice, history: [], limits: limits)
            #expect(verdict.status == .match)
            #expect(verdict.reason.contains("manual readings taken at one time disagree: 530.000 m3, 530.400 m3; each allowed"))
        }
        // With only the earlier side, the higher of the two bounds the range from above: 530.4 + 2 × 3.
        let earlierOnly = [manual(0, 530), manual(0, 530.4)]
        #expect(MeterJudge.judge(value: 536.3, capturedAt: 3 * hour, manual: earlierOnly, history: [], limits: limits).status == .match)
        #expect(MeterJudge.judge(value: 529.9, capturedAt: 3 * hour, manual: earlierOnly, history: [], limits: limits).status == .mismatch)
    }

    @Test func anAbsurdManualReadingIsJudgedNotTrappedOn() {
        // Shown with fixed decimals through Int, 1e300 used to trap the daemon on every photo of the meter.
        let verdict = MeterJudge.judge(value: 530, capturedAt: 2 * hour, manual: [manual(0, 1e300)], history: [], limits: limits)
        #expect(verdict.status == .mismatch && verdict.reason.contains("e+300"))
    }
}
