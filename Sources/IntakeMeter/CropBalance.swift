public import IntakeCodecs

/// Evens out the light on a dial's crop before it is read, where the photo is dim or cast: a
/// dial's face is white, so whatever its brightest tenth looks like in the photo (grey in a dim
/// photo, blue under cold light) is what white looks like there. Each channel is scaled so that it
/// reads white. A crop whose white is already bright and grey is left exactly as it is: the
/// readers were made on such crops.
public enum CropBalance {
    /// The share of a crop's pixels taken as the face's white.
    static let whiteShare = 0.1
    /// What the white is scaled to, short of 255 so that the face keeps its texture.
    static let target: Float = 235
    /// Gains are capped: a crop that is nearly black has no face to balance by.
    static let maximumGain: Float = 4
    /// A crop is balanced only when its white is darker than this, or one channel's white is
    /// this many times another's.
    static let dimWhite = 150
    static let cast: Float = 1.25

    public static func balanced(_ crop: RGBImage) -> RGBImage {
        let count = crop.width * crop.height
        guard count > 0 else { return crop }
        let source = crop.storage.base
        var whites: [Int] = []
        for channel in 0..<3 {
            var histogram = [Int](repeating: 0, count: 256)
            for i in 0..<count { histogram[Int(source[i * 3 + channel])] += 1 }
            var remaining = Int(Double(count) * whiteShare), level = 255
            while level > 0 && remaining > histogram[level] {
                remaining -= histogram[level]
                level -= 1
            }
            whites.append(max(level, 1))
        }
        let castRatio = Float(whites.max()!) / Float(whites.min()!)
        guard whites.max()! < dimWhite || castRatio > cast else { return crop }
        let gains = whites.map { min(maximumGain, max(1, target / Float($0))) }
        return RGBImage(width: crop.width, height: crop.height) { out in
            for i in 0..<count {
                for channel in 0..<3 { out[i * 3 + channel] = UInt8(min(255, (Float(source[i * 3 + channel]) * gains[channel]).rounded())) }
            }
        }
    }
}
