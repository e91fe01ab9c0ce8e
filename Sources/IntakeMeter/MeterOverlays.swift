public import IntakeCodecs

/// The pictures `intake meter check` and `intake meter setup` draw.
public enum MeterOverlays {
    /// `photo` read by `reader`, with the check overlay of what it found.
    public static func check(_ photo: RGBImage, with reader: MeterReader)
        -> (alignment: Result<Alignment, AlignmentError>, reading: AssembledReading, overlay: Overlay)
    {
        let (aligned, reading) = reader.inspect(photo)
        return (aligned, reading, check(photo: photo, profile: reader.profile, alignment: aligned, reading: reading))
    }

    /// The photo seen through the alignment, in the reference frame, with every wheel and dial box
    /// and what was read in it (value and confidence); where the photo did not align, the photo
    /// itself framed in red.
    public static func check(photo: RGBImage, profile: LoadedProfile, alignment: Result<Alignment, AlignmentError>,
                             reading: AssembledReading) -> Overlay
    {
        guard case .success(let aligned) = alignment else {
            var overlay = Overlay(photo)
            overlay.border(Overlay.problemColour)
            overlay.label("not aligned", x: 8, y: 8, Overlay.problemColour)
            return overlay
        }
        let frame = Box(x: 0, y: 0, width: profile.referenceWidth, height: profile.referenceHeight)
        var overlay = Overlay(BoxSampler.crop(photo, box: frame, through: aligned))
        // The reader lists wheels by place and dials by factor, largest first.
        let wheels = profile.profile.wheels.sorted { $0.place > $1.place }.map(\.box)
        let dials = profile.profile.dials.sorted { $0.factor > $1.factor }.map(\.box)
        let positions = reading.positions
        for (index, box) in (wheels + dials).enumerated() {
            let isWheel = index < wheels.count
            let colour = isWheel ? Overlay.wheelColour : Overlay.dialColour
            overlay.box(box, colour)
            guard index < positions.count else { continue }
            // The value above the box, the confidence below it, so neighbouring wheels' labels
            // never run into each other.
            let position = positions[index]
            // Marked by the profile's own threshold: the one that made the reading unreadable or not.
            let labelColour = position.confidence >= profile.profile.minimumConfidence ? colour : Overlay.problemColour
            overlay.label(tenths(position.value), x: box.x, y: max(0, box.y - 17), labelColour)
            overlay.label("\(Int((position.confidence * 100).rounded()))%", x: box.x, y: box.y + box.height + 2, labelColour, scale: 1)
        }
        for (mark, image) in zip(profile.profile.marks, profile.markImages) {
            overlay.box(Box(x: mark.x, y: mark.y, width: image.width, height: image.height), Overlay.markColour, thickness: 1)
        }
        if reading.value == nil { overlay.border(Overlay.problemColour) }
        return overlay
    }

    /// The photo a profile was proposed from, with every wheel and dial box numbered as the
    /// profile lists them (w1 the most significant wheel, d1 the first fraction).
    public static func setup(photo: RGBImage, proposal: MeterSetup.Proposal) -> Overlay {
        var overlay = Overlay(photo)
        // Under the boxes: the landmarks the aligner will look for (see `MeterSetup.Proposal`).
        for landmark in proposal.landmarks { overlay.cross(landmark.x, landmark.y, Overlay.landmarkColour, size: 2) }
        if let window = proposal.counterWindow {
            overlay.box(window, Overlay.markColour, thickness: 1)
            overlay.label("c", x: window.x, y: min(overlay.height - 16, window.y + window.height + 2), Overlay.markColour)
        }
        for (index, wheel) in proposal.wheels.enumerated() {
            overlay.box(wheel.box, Overlay.wheelColour)
            overlay.label("w\(index + 1)", x: wheel.box.x, y: max(0, wheel.box.y - 17), Overlay.wheelColour)
        }
        for (index, dial) in proposal.dials.enumerated() {
            overlay.box(dial.box, Overlay.dialColour)
            overlay.cross(Double(dial.box.x) + Double(dial.box.width - 1) / 2, Double(dial.box.y) + Double(dial.box.height - 1) / 2, Overlay.dialColour, size: 5)
            overlay.label("d\(index + 1)", x: dial.box.x, y: max(0, dial.box.y - 17), Overlay.dialColour)
        }
        if proposal.wheels.isEmpty && proposal.dials.isEmpty { overlay.border(Overlay.problemColour) }
        return overlay
    }

    /// One decimal, always shown (`3.0`); 9.95 and up is 0.0 of the next turn.
    static func tenths(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded()) % 100
        return "\(tenths / 10).\(tenths % 10)"
    }
}
