import IntakeCodecs
import IntakePipeline
import IntakeTestSupport
import Testing

/// Orientation (`tiff:Orientation`) and the date taken (`exif:DateTimeOriginal`) from XMP where
/// EXIF states none, as some editors and phones write them.
@Suite struct XMPPropertiesTests {
    func read(_ text: String) -> (orientation: Int?, invalid: String?) {
        Array(text.utf8).withUnsafeBytes { XMPProperties.orientation($0) }
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

    @Test func theDateTakenIsReadInEitherSpellingAndWrittenAsEXIFWritesIt() {
        func date(_ text: String) -> String? { Array(text.utf8).withUnsafeBytes { XMPProperties.dateTaken($0) } }
        #expect(date(#"<rdf:Description exif:DateTimeOriginal="2013-07-05T03:18:27Z"/>"#) == "2013:07:05 03:18:27")
        #expect(date("<exif:DateTimeOriginal>2010-07-11T13:53+02:00</exif:DateTimeOriginal>") == "2010:07:11 13:53:00")
        #expect(date(#"exif:DateTimeOriginal="2021-01-02T03:04:05.678""#) == "2021:01:02 03:04:05")
        // Not a calendar date with a time, or another property: nothing.
        #expect(date(#"exif:DateTimeOriginal="2013-13-05T03:18:27""#) == nil)
        #expect(date(#"exif:DateTimeOriginal="2013-07-05""#) == nil)
        #expect(date(#"exif:DateTimeOriginal="yesterday""#) == nil)
        #expect(date(#"xmp:CreateDate="2013-07-05T03:18:27""#) == nil)
    }

    /// Through the pipeline: a JPEG whose only date is in its XMP gets it, and says where from.
    @Test func aJPEGWithOnlyAnXMPDateGetsItAsTheDateTaken() throws {
        let packet = #"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description exif:DateTimeOriginal="2019-05-06T07:08:09+01:00"/></rdf:RDF></x:xmpmeta>"#
        let image = try ImageProcessor(options: ProcessingOptions()).process(Self.jpeg(withXMP: packet, width: 64, height: 48)).result.get()
        #expect(image.facts.exif?.dateTaken == "2019:05:06 07:08:09")
        #expect(image.facts.exif?.sources?["date_taken"] == "XMP (exif:DateTimeOriginal)")
    }
}
