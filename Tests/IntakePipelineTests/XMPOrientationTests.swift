import IntakeCodecs
import IntakePipeline
import IntakeTestSupport
import Testing

/// Orientation from XMP (`tiff:Orientation`) where EXIF states none, as some editors write it.
@Suite struct XMPOrientationTests {
    func read(_ text: String) -> (orientation: Int?, invalid: String?) {
        Array(text.utf8).withUnsafeBytes { XMPOrientation.read($0) }
    }

    @Test func bothSpellingsAreReadAndAnythingElseIsNot() {
        #expect(read(#"<rdf:Description tiff:Orientation="6" tiff:Make="X"/>"#).orientation == 6)
        #expect(read("<rdf:Description tiff:Orientation = '3'/>").orientation == 3)
        #expect(read("<tiff:Orientation>8</tiff:Orientation>").orientation == 8)
        #expect(read("<tiff:OrientationHint>6</tiff:OrientationHint>").orientation == nil)
        #expect(read(#"<x exif:PixelXDimension="6"/>"#).orientation == nil)
        #expect(read(#"tiff:Orientation="9""#) == (nil, "9"))
        #expect(read("") == (nil, nil))
    }

    /// A JPEG with an XMP packet in an APP1 segment right after SOI, and no EXIF.
    static func jpeg(withXMP packet: String, width: Int, height: Int) -> [UInt8] {
        let plain = Photos.jpeg(width: width, height: height, seed: 5)
        let payload = Array("http://ns.adobe.com/xap/1.0/\0".utf8) + Array(packet.utf8)
        let length = payload.count + 2
        return Array(plain.prefix(2)) + [0xFF, 0xE1, UInt8(length >> 8), UInt8(length & 0xFF)] + payload + Array(plain.dropFirst(2))
    }

    @Test func aJPEGWithOnlyXMPIsTurnedUprightAndSaysWhereTheOrientationCameFrom() throws {
        let packet = #"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description tiff:Orientation="6"/></rdf:RDF></x:xmpmeta>"#
        let image = try ImageProcessor(options: ProcessingOptions()).process(Self.jpeg(withXMP: packet, width: 96, height: 64)).result.get()
        #expect(image.facts.orientation == 6 && image.facts.orientationSource == "xmp")
        #expect(image.upright.width == 64 && image.upright.height == 96)

        let broken = try ImageProcessor(options: ProcessingOptions())
            .process(Self.jpeg(withXMP: #"<d tiff:Orientation="sideways"/>"#, width: 96, height: 64)).result.get()
        #expect(broken.facts.orientation == 1 && broken.facts.orientationSource == nil)
        #expect(broken.facts.exifProblems.contains { $0.contains("XMP tiff:Orientation has the invalid value sideways") })
    }
}
