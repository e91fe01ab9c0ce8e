import IntakeCore
import Testing

/// Paths taken apart at their '/' bytes, as the kernel reads them.
@Suite struct PathTextTests {
    /// A name that starts with a combining mark joins the '/' before it into one Character that
    /// is not "/": split as Characters, `a/b/́c` had two components, and its folder was `a`.
    @Test func aNameStartingWithACombiningMarkIsItsOwnComponent() {
        let path = "/srv/intake/processed/prod/\u{301}c.jpg"
        #expect(path.split(separator: "/").count == 4, "the Character view this replaces")
        #expect(PathText.components(path).count == 5)
        #expect(PathText.folder(of: path) == "/srv/intake/processed/prod")
        #expect(PathText.lastComponent(path).unicodeScalars.elementsEqual("\u{301}c.jpg".unicodeScalars))
        #expect(PathText.folder(of: "name") == "." && PathText.folder(of: "/name") == "/" && PathText.lastComponent("name") == "name")
        #expect(PathText.components("a//b/") == ["a", "b"])
    }
}
