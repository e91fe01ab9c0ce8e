import IntakeMeter
import Testing

@Suite struct MeterAssemblyTests {
    func wheel(_ weight: Double, _ value: Double, _ confidence: Double = 0.99) -> PositionReading {
        PositionReading(kind: .wheel, weight: weight, value: value, confidence: confidence)
    }
    func dial(_ weight: Double, _ value: Double, _ confidence: Double = 0.99) -> PositionReading {
        PositionReading(kind: .dial, weight: weight, value: value, confidence: confidence)
    }

    @Test func wheelsAndDialsAddUp() throws {
        // 530.07077: wheels 0,0,5,3,0 and dials ×0.1 at 0.7, ×0.01 at 7.1, ×0.001 at 0.8, ×0.0001 at 7.7.
        let reading = MeterAssembler.assemble([
            wheel(10000, 0.0), wheel(1000, 0.0), wheel(100, 5.0), wheel(10, 3.0), wheel(1, 0.1),
            dial(0.1, 0.7), dial(0.01, 7.1), dial(0.001, 0.8), dial(0.0001, 7.7),
        ])
        let value = try #require(reading.value)
        #expect(abs(value - 530.07077) < 1e-9)
        #expect(reading.positions.map(\.digit) == [0, 0, 5, 3, 0, 0, 7, 0, 7])
    }

    @Test func aWheelCaughtBetweenDigitsIsSettledByTheDialBelow() throws {
        // The ones wheel shows 1.9 (mid-roll): over a ×0.1 dial at 9.6 it is still a 1; at 0.2 already a 2.
        let before = MeterAssembler.assemble([wheel(10, 3), wheel(1, 1.9), dial(0.1, 9.6)])
        #expect(abs(try #require(before.value) - 31.96) < 1e-9)
        let after = MeterAssembler.assemble([wheel(10, 3), wheel(1, 1.9), dial(0.1, 0.2)])
        #expect(abs(try #require(after.value) - 32.02) < 1e-9)
    }

    @Test func aTensWheelTurnsOnlyWhileTheOnesWheelPassesNine() throws {
        // Odometer carry: at 29.98 the tens wheel is most of the way to 3.
        let rolling = MeterAssembler.assemble([wheel(10, 2.97), wheel(1, 9.98)])
        #expect(abs(try #require(rolling.value) - 29.98) < 1e-9)
        // At 25.5 it stands still on its digit; a continuous model would expect 2.55 and misread it.
        let still = MeterAssembler.assemble([wheel(10, 2.0), wheel(1, 5.5)])
        #expect(abs(try #require(still.value) - 25.5) < 1e-9)
    }

    @Test func anUnsurePositionMakesItUnreadable() {
        let reading = MeterAssembler.assemble([wheel(10, 3, 0.95), wheel(1, 4.5, 0.3), dial(0.1, 5)])
        #expect(reading.value == nil)
        #expect(reading.unreadableReason?.contains("wheel 2 of 3 is unclear") == true)
    }

    /// A profile that asks for more confidence than the default gets it: a position sure enough
    /// for the default is unclear for it, and the reason names the threshold.
    @Test func aProfilesHigherThresholdMakesALessSureReadingUnreadable() throws {
        let positions = [wheel(10, 3, 0.95), wheel(1, 4.5, 0.7), dial(0.1, 5)]
        #expect(abs(try #require(MeterAssembler.assemble(positions).value) - 34.5) < 1e-9)
        let strict = MeterAssembler.assemble(positions, minimumConfidence: 0.8)
        #expect(strict.value == nil)
        #expect(strict.unreadableReason?.contains("with confidence 0.70, under 0.80") == true, "\(strict.unreadableReason ?? "")")
    }

    @Test func positionsThatDisagreeMakeItUnreadable() {
        // The ones wheel is half-way between 4 and 5, but the dial below says it should stand at 4.0.
        let reading = MeterAssembler.assemble([wheel(1, 4.45), dial(0.1, 0.0)])
        #expect(reading.value == nil)
        #expect(reading.unreadableReason?.contains("disagree") == true)
    }
}
