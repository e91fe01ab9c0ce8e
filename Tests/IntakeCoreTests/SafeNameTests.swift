import IntakeCore
import Testing

/// Names as intake files them: escaped, and fitted to what a file system takes.
@Suite struct SafeNameTests {
    @Test func aNameThatFitsIsKept() {
        #expect(SafeName.fitted("meter 12.jpg") == "meter 12.jpg")
        let limit = String(repeating: "a", count: SafeName.maximumBytes - 4) + ".jpg"
        #expect(SafeName.fitted(limit) == limit)
    }

    @Test func aLongNameKeepsItsStartAndExtensionAndStaysApartFromItsNeighbours() {
        let first = String(repeating: "a", count: 300) + "1.jpeg", second = String(repeating: "a", count: 300) + "2.jpeg"
        let a = SafeName.fitted(first), b = SafeName.fitted(second)
        #expect(a.utf8.count == SafeName.maximumBytes && b.utf8.count == SafeName.maximumBytes)
        #expect(a.hasPrefix("aaaa") && a.hasSuffix(".jpeg") && a.contains("~"))
        #expect(a != b)
        #expect(SafeName.fitted(first) == a, "not the same each time")
    }

    @Test func charactersAreNeverCutInHalfAndALongSuffixIsNoExtension() {
        // 3-byte characters: the cut falls between them, never inside one.
        let wide = SafeName.fitted(String(repeating: "水", count: 120) + ".png")
        #expect(wide.utf8.count <= SafeName.maximumBytes && wide.hasSuffix(".png"))
        #expect(wide.unicodeScalars.allSatisfy { $0 == "水" || "~.png0123456789abcdef".unicodeScalars.contains($0) })
        let dotted = SafeName.fitted("x." + String(repeating: "e", count: 250))
        #expect(dotted.utf8.count <= SafeName.maximumBytes && dotted.hasPrefix("x.eee"))
    }

    /// A character that reorders text makes "rtl\u{202E}gpj.exe" show as "rtlexe.jpg", and turns
    /// round the rest of a log line: kept escaped, as control characters are, and refused as a
    /// name someone chooses. Letters of right-to-left scripts are text, and stay.
    @Test func charactersThatReorderTextAreEscapedAndRefused() {
        #expect(SafeName.from("rtl\u{202E}gpj.exe") == "rtl%E2%80%AEgpj.exe")
        #expect(SafeName.from("a\u{2066}b\u{200F}.jpg") == "a%E2%81%A6b%E2%80%8F.jpg")
        #expect(SafeName.from("שלום.jpg") == "שלום.jpg")
        #expect(SafeName.refusal(ofComponent: "x\u{202E}gpj.exe")?.contains("reorders text") == true)
        #expect(SafeName.refusal(ofComponent: "שלום.jpg") == nil)
    }
}
