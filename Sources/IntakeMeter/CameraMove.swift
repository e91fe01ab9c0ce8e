#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif
public import IntakeCodecs

/// What happens to a fixed camera in its life (it is bumped, turned, moved closer, re-mounted,
/// the light changes), done to a photo with the project's own resampling: how the benchmark and
/// the tests check that the reader follows a moved camera, or abstains, but never reads a
/// different value.
public enum CameraMove: Sendable, Equatable, CustomStringConvertible {
    /// Turned by this many degrees (clockwise on screen) about the photo's centre, on a canvas
    /// large enough to hold all of it.
    case turn(Double)
    /// Closer (above 1) or farther, on a canvas scaled alike.
    case zoom(Double)
    /// Turned and zoomed at once.
    case turnAndZoom(Double, Double)
    /// Shifted by (x, y) pixels on a canvas of the same size: what leaves the frame is lost.
    case shift(Int, Int)
    /// The photo cut to its left `width` pixels.
    case cropToWidth(Int)
    /// Every channel multiplied by `factor`: less light.
    case darken(Double)
    /// Each channel multiplied by its own factor: another white balance.
    case tint(Double, Double, Double)
    /// Seen from the side: the far edge (top or left) shrunk by this share, as a camera tilted by
    /// about `share`·60° sees it.
    case tiltVertical(Double)
    case tiltHorizontal(Double)

    /// The moves the benchmark and the tests put each demo photo through.
    public static let standardSet: [CameraMove] =
        stride(from: 30.0, to: 360, by: 30).map { .turn($0) }
        + [.zoom(0.7), .zoom(1.4), .turnAndZoom(135, 0.7), .turnAndZoom(250, 1.4), .shift(40, -30), .shift(-35, 25),
           .cropToWidth(570), .darken(0.45), .tint(1.15, 0.95, 0.7), .tint(0.75, 0.95, 1.2), .tiltVertical(0.15), .tiltHorizontal(0.15)]

    public var description: String {
        func n(_ v: Double) -> String { v == v.rounded() ? String(Int(v)) : String(v) }
        switch self {
        case .turn(let degrees): return "turn \(n(degrees))°"
        case .zoom(let scale): return "zoom \(n(scale))×"
        case .turnAndZoom(let degrees, let scale): return "turn \(n(degrees))° zoom \(n(scale))×"
        case .shift(let x, let y): return "shift \(x),\(y)"
        case .cropToWidth(let width): return "crop to width \(width)"
        case .darken(let factor): return "darken ×\(n(factor))"
        case .tint(let r, let g, let b): return "tint \(n(r))/\(n(g))/\(n(b))"
        case .tiltVertical(let share): return "tilt vertical \(n(share))"
        case .tiltHorizontal(let share): return "tilt horizontal \(n(share))"
        }
    }

    /// The photo after the move.
    public func apply(to photo: RGBImage) -> RGBImage {
        let width = Double(photo.width), height = Double(photo.height)
        switch self {
        case .turn(let degrees): return Self.turned(photo, degrees: degrees, scale: 1)
        case .zoom(let scale): return Self.turned(photo, degrees: 0, scale: scale)
        case .turnAndZoom(let degrees, let scale): return Self.turned(photo, degrees: degrees, scale: scale)
        case .shift(let x, let y):
            let canvasToPhoto = PlaneTransform([1, 0, -Double(x), 0, 1, -Double(y), 0, 0, 1])
            return BoxSampler.crop(photo, box: Box(x: 0, y: 0, width: photo.width, height: photo.height), through: canvasToPhoto)
        case .cropToWidth(let cropWidth):
            return BoxSampler.crop(photo, box: Box(x: 0, y: 0, width: min(cropWidth, photo.width), height: photo.height), through: .identity)
        case .darken(let factor): return Self.scaledChannels(photo, factor, factor, factor)
        case .tint(let r, let g, let b): return Self.scaledChannels(photo, r, g, b)
        case .tiltVertical(let share), .tiltHorizontal(let share):
            // The photo's corners go to a trapezoid: the far edge shrinks by `share` about its middle.
            let vertical = { if case .tiltVertical = self { return true } else { return false } }()
            let inset = share / 2
            let source = [(0.0, 0.0), (width - 1, 0), (0, height - 1), (width - 1, height - 1)]
            let target: [(Double, Double)] =
                vertical
                ? [(inset * width, 0), ((1 - inset) * width - 1, 0), (0, height - 1), (width - 1, height - 1)]
                : [(0, inset * height), (width - 1, 0), (0, (1 - inset) * height - 1), (width - 1, height - 1)]
            guard
                let canvasToPhoto = PlaneTransform.fitting(
                    from: target.map { (x: $0.0, y: $0.1) }, to: source.map { (x: $0.0, y: $0.1) })
            else { return photo }
            return BoxSampler.crop(photo, box: Box(x: 0, y: 0, width: photo.width, height: photo.height), through: canvasToPhoto)
        }
    }

    /// Turned and scaled about the centre onto the canvas that holds the whole result.
    static func turned(_ photo: RGBImage, degrees: Double, scale: Double) -> RGBImage {
        let width = Double(photo.width), height = Double(photo.height)
        let radians = degrees * .pi / 180
        let c = abs(cos(radians)), s = abs(sin(radians))
        let canvasWidth = Int(((width * c + height * s) * scale).rounded()), canvasHeight = Int(((width * s + height * c) * scale).rounded())
        let photoToCanvas = SimilarityTransform(
            rotationDegrees: degrees, scale: scale, about: ((width - 1) / 2, (height - 1) / 2),
            to: (Double(canvasWidth - 1) / 2, Double(canvasHeight - 1) / 2))
        return BoxSampler.crop(
            photo, box: Box(x: 0, y: 0, width: max(1, canvasWidth), height: max(1, canvasHeight)), through: PlaneTransform(photoToCanvas.inverse))
    }

    static func scaledChannels(_ photo: RGBImage, _ r: Double, _ g: Double, _ b: Double) -> RGBImage {
        let factors = [r, g, b].map { Float($0) }
        let source = photo.storage.base
        return RGBImage(width: photo.width, height: photo.height) { out in
            for i in 0..<(photo.width * photo.height * 3) {
                out[i] = UInt8(min(255, (Float(source[i]) * factors[i % 3]).rounded()))
            }
        }
    }
}
