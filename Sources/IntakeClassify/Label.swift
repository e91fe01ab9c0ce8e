/// One thing said about an image — what it shows or how usable it is — with how sure the sayer is.
///
/// Built-in labels come from ``ImageClassifier`` with the source `"intake"`; an
/// ``ExternalClassifier`` gives its own name as the source.
public struct Label: Sendable, Equatable, Codable {
    /// What is said, such as `blurred`, `meter` or `cat`.
    public var name: String
    /// How sure the sayer is, from 0 to 1.
    public var confidence: Double
    /// Who said it: `"intake"` for the built-in labels, the external classifier's name otherwise.
    public var source: String
    /// Where in the image, when the label is about a part of it.
    public var box: LabelBox?

    /// Creates a label from its parts.
    public init(name: String, confidence: Double, source: String, box: LabelBox? = nil) {
        self.name = name
        self.confidence = confidence
        self.source = source
        self.box = box
    }
}

/// Where a label sits in an image: the top-left corner and the size of a rectangle.
///
/// In pixels of the upright image at its original size, whatever scale the image was decoded
/// at: built-in labels and external classifiers alike (the latter are told that size, and a box
/// of theirs outside it is dropped, see ``ExternalClassifier/checkingBoxes(_:width:height:)``).
public struct LabelBox: Sendable, Equatable, Codable {
    /// Left edge.
    public var x: Double
    /// Top edge.
    public var y: Double
    /// Width.
    public var width: Double
    /// Height.
    public var height: Double

    /// Creates a box from its corner and size.
    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }
}
