public import IntakeCodecs
import Synchronization

/// Reads a profiled meter in a photo: align to the reference, crop every wheel and dial, read
/// them (the trained digit and dial models), and assemble one value. A photo that
/// does not align, or a position read without enough confidence, is unreadable with its reason.
///
/// The reader remembers where the meter's last photo was found: a fixed camera's next photo is
/// then aligned by confirming that placement, not by searching for it. One reader serves every
/// worker, so the placement is behind a lock; whichever photo was aligned last sets it.
public final class MeterReader: Sendable {
    public let profile: LoadedProfile
    private let digits: DigitModel
    private let dials: DialModel
    private let lastPlacement = Mutex<MeterPlacement?>(nil)

    public init(profile: LoadedProfile, digits: DigitModel, dials: DialModel) {
        self.profile = profile
        self.digits = digits
        self.dials = dials
    }

    public func read(_ photo: RGBImage) -> AssembledReading { inspect(photo).reading }

    /// The reading with the alignment it was made through (or the reason there was none): what
    /// `intake meter check` shows. Without `followingLastPhoto` the photo is searched afresh
    /// whatever the last photo was (what a benchmark of the full search measures).
    public func inspect(_ photo: RGBImage, followingLastPhoto: Bool = true) -> (alignment: Result<Alignment, AlignmentError>, reading: AssembledReading) {
        let previous = followingLastPhoto ? lastPlacement.withLock { $0 } : nil
        let aligned = Aligner.align(photo, to: profile, limits: AlignmentLimits(), following: previous)
        if case .success(let alignment) = aligned { lastPlacement.withLock { $0 = alignment.placement } }
        return (aligned, read(photo, aligned))
    }

    private func read(_ photo: RGBImage, _ aligned: Result<Alignment, AlignmentError>) -> AssembledReading {
        let alignment: Alignment
        switch aligned {
        case .success(let found): alignment = found
        case .failure(let error):
            return AssembledReading(value: nil, positions: [], confidence: 0, unreadableReason: "\(error)")
        }
        var positions: [PositionReading] = []
        for wheel in profile.profile.wheels.sorted(by: { $0.place > $1.place }) {
            let reading = digits.read(BoxSampler.crop(photo, box: wheel.box, through: alignment))
            positions.append(PositionReading(kind: .wheel, weight: wheel.place, value: reading.value, confidence: reading.confidence))
        }
        for dial in profile.profile.dials.sorted(by: { $0.factor > $1.factor }) {
            let reading = dials.read(BoxSampler.crop(photo, box: dial.box, through: alignment))
            positions.append(PositionReading(kind: .dial, weight: dial.factor, value: reading.value, confidence: reading.confidence))
        }
        var assembled = MeterAssembler.assemble(positions, minimumConfidence: profile.profile.minimumConfidence)
        assembled.confidence = min(assembled.confidence, alignment.confidence)
        return assembled
    }
}
