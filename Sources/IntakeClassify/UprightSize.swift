/// The original's size turned the way the decoded image stands: the stored width and height,
/// swapped when EXIF orientation turned the picture on its side.
public struct UprightSize: Sendable {
    public let width: Int
    public let height: Int

    /// The stored size is swapped when its long side lies the other way than the image's. (An
    /// image within a pixel of square gives the same answer either way.)
    public init(imageWidth: Int, imageHeight: Int, originalWidth: Int, originalHeight: Int) {
        let imageIsWide = imageWidth >= imageHeight, originalIsWide = originalWidth >= originalHeight
        if imageIsWide == originalIsWide || originalWidth == originalHeight {
            (width, height) = (originalWidth, originalHeight)
        } else {
            (width, height) = (originalHeight, originalWidth)
        }
    }

    /// `portrait`, `landscape` or `square`; square when the long side is within 5% of the short one.
    var shape: String {
        let long = max(width, height), short = max(1, min(width, height))
        if Double(long) <= Double(short) * 1.05 { return "square" }
        return width > height ? "landscape" : "portrait"
    }
}
