import IntakeCore
import Testing

/// Text put into the HTML report: a file name, a meter's reason quoting a sidecar.
@Suite struct HTMLTextTests {
    /// U+0600 (a prepending mark, which a file name may hold) and the `<` after it are one
    /// Swift Character, unequal to "<": escaped a Character at a time, the tag went out raw and
    /// a failed upload's name ran script in the report of whoever opened it.
    @Test func aMarkBeforeTheBracketDoesNotCarryATagThrough() {
        let name = "prod/\u{600}<img src=x onerror=alert(1) .jpg"
        let escaped = HTMLText.escaped(name)
        #expect(!escaped.unicodeScalars.contains("<"), "\(escaped.unicodeScalars.map { String($0) })")
        #expect(escaped == "prod/\u{600}&lt;img src=x onerror=alert(1) .jpg")
        // A quote with a combining accent on it would close a quoted attribute the same way.
        #expect(!HTMLText.escaped("x\"\u{301} onload=y").unicodeScalars.contains("\""))
        #expect(HTMLText.escaped("a & b <c> \"d\" 'e'") == "a &amp; b &lt;c&gt; &quot;d&quot; &#39;e&#39;")
    }
}
