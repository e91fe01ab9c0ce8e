import IntakeCodecs
import IntakeTestSupport
import Testing
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The page of `intake serve` in a real headless Chromium, beside a real intaked: files put on its
/// file input as a person picks them, their progress and outcomes shown live, then the review.
@Suite(.serialized) struct WebPageTests {
    /// Screenshots kept after the run, for a person to look at (`.build` is never committed).
    static let artifacts = Fixtures.packageRoot + "/.build/test-artifacts"

    /// Off loopback the page is served without a token and names no environment; given a token,
    /// it asks for them and offers them.
    @Test(.enabled(if: Chromium.path != nil, "needs Chromium (scripts/install-deps.sh --test installs it)"))
    func offLoopbackThePageOffersTheEnvironmentsOnceItHasAToken() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        defer { _ = daemon.stop() }
        let added = try ChildProcess.run(ChildProcess.built("intake"), ["token", "add", "ci", "--env", "beta", "--config", daemon.configPath])
        #expect(added.status == 0, "\(added.standardError)")
        let token = added.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        let server = try WebServeTests().serve(daemon, host: "127.0.0.2")
        defer {
            kill(server.pid, SIGTERM)
            ChildProcess.waitFor(server.pid)
        }
        let browser = try Chromium()
        try browser.navigate(server.url + "/")
        try browser.waitUntil("the page asks for a token", "!document.querySelector('#token-box').hidden")
        #expect(try browser.evaluate("document.querySelectorAll('#env option').length") as? Int == 0)
        _ = try browser.evaluate("""
            (() => { const t = document.querySelector('#token'); t.value = '\(token)'; t.dispatchEvent(new Event('change')); })()
            """)
        try browser.waitUntil("the environments are offered", """
            [...document.querySelectorAll('#env option')].map(o => o.value).join(' ') === 'prod beta' &&
            [...document.querySelectorAll('#review-env option')].map(o => o.value).join(' ') === ' prod beta'
            """)
    }

    @Test(.enabled(if: Chromium.path != nil, "needs Chromium (scripts/install-deps.sh --test installs it)"))
    func filesPickedOnThePageAreUploadedAndTheirOutcomesShownLive() throws {
        let daemon = try DaemonHarness(settings: #"""
            [meters]
            folder_pattern = "MTR-\\d+"
            """#)
        try daemon.start()
        defer { _ = daemon.stop() }
        let server = try WebServeTests().serve(daemon)
        defer {
            kill(server.pid, SIGTERM)
            ChildProcess.waitFor(server.pid)
        }
        let first = daemon.folder.write("first.jpg", Photos.jpeg(width: 640, height: 480, seed: 11))
        let second = daemon.folder.write("second.jpg", Photos.jpeg(width: 480, height: 640, seed: 12))
        // A JPEG by its first bytes that no decoder can read: taken, then failed with its reason.
        let broken = daemon.folder.write("broken.jpg", [0xFF, 0xD8, 0xFF, 0xE0] + Array(repeating: 0x41, count: 2000))
        // A photo of a meter the daemon knows by name but has no profile for: its verdict says so.
        let meterPhoto = daemon.folder.write("meter.jpg", Photos.jpeg(width: 640, height: 480, seed: 13))

        let browser = try Chromium()
        try browser.navigate(server.url + "/")
        try browser.waitUntil("the page follows the outcomes", "document.querySelector('#live').textContent === 'live'")
        #expect(try browser.evaluate("[...document.querySelectorAll('#env option')].map(o => o.value).join(' ')") as? String == "prod beta")
        try browser.setFiles("#files", [first, second, broken])

        try browser.waitUntil("two files completed and one failed, shown on the page", timeout: 120, """
            document.querySelectorAll('#uploads .card.completed').length === 2 &&
            document.querySelectorAll('#uploads .card.failed').length === 1
            """)
        // Every upload went all the way; the derivatives are the server's 256-pixel pictures, shown.
        #expect(try browser.evaluate("[...document.querySelectorAll('#uploads progress')].every(p => p.value === 1)") as? Bool == true)
        try browser.waitUntil("the derivatives are shown", """
            [...document.querySelectorAll('#uploads img.derivative')].filter(i => i.complete && i.naturalWidth === 256).length === 2
            """)
        #expect(try browser.evaluate("document.querySelectorAll('#uploads img.rotation').length") as? Int ?? 0 >= 2)
        let failedText = try browser.evaluate("document.querySelector('#uploads .card.failed').textContent") as? String ?? ""
        #expect(failedText.contains("broken.jpg") && failedText.contains("failed at sniff: JPEG cut short"), "\(failedText)")
        let completedText = try browser.evaluate("document.querySelector('#uploads .card.completed').textContent") as? String ?? ""
        #expect(completedText.contains("job "), "\(completedText)")

        // A file sent to a meter: its card gives the meter's verdict.
        _ = try browser.evaluate("document.querySelector('#meter').value = 'MTR-5'")
        try browser.setFiles("#files", [meterPhoto])
        try browser.waitUntil("the meter photo's verdict is on its card", timeout: 120, """
            [...document.querySelectorAll('#uploads .card.completed p.meter')].some(p => p.textContent.startsWith('MTR-5: no_profile'))
            """)
        try keep(try browser.screenshot(), as: "upload-page.png")

        // The review: the summary counts and the failure with its reason, from the database.
        _ = try browser.evaluate("document.querySelector('#tab-review').click()")
        try browser.waitUntil("the review lists the failure", """
            document.querySelector('#failures').textContent.includes('broken.jpg') &&
            document.querySelector('#summary .count.completed b')?.textContent === '3'
            """)
        #expect((try browser.evaluate("document.querySelector('#failures').textContent") as? String ?? "").contains("sniff: JPEG cut short"))
        try browser.waitUntil("the review lists the meter photo without a match", """
            document.querySelector('#meters').textContent.includes('MTR-5') && document.querySelector('#meters').textContent.includes('no_profile')
            """)
        try keep(try browser.screenshot(), as: "review-page.png")

        // The filter narrows both lists: by meter, then by a failure's reason.
        func filter(_ text: String) throws {
            _ = try browser.evaluate("""
                (() => { const f = document.querySelector('#review-filter'); f.value = '\(text)'; f.dispatchEvent(new Event('input')); })()
                """)
        }
        try filter("mtr-5")
        try browser.waitUntil("filtered by meter, only the meter photo is left", """
            document.querySelectorAll('#failures tr').length === 0 && document.querySelectorAll('#meters tr').length === 1
            """)
        try filter("cut short")
        try browser.waitUntil("filtered by reason, only the failure is left", """
            document.querySelectorAll('#failures tr').length === 1 && document.querySelectorAll('#meters tr').length === 0
            """)
    }

    /// Saves a screenshot among the test artifacts, after checking it is a picture with something on it.
    private func keep(_ png: [UInt8], as name: String) throws {
        let image = try png.withUnsafeBytes { try PNGDecoder.decode($0, limits: DecodeLimits()) }.image
        #expect(image.width == 1200 && image.height == 900)
        var dark = 0
        for y in stride(from: 0, to: image.height, by: 4) {
            for x in stride(from: 0, to: image.width, by: 4) where Int(image[x, y].0) + Int(image[x, y].1) + Int(image[x, y].2) < 200 {
                dark += 1
            }
        }
        #expect(dark > 500, "hardly anything drawn on \(name)")
        mkdir(Self.artifacts, 0o755)
        let path = Self.artifacts + "/" + name
        let file = try #require(fopen(path, "wbe"))
        defer { fclose(file) }
        #expect(fwrite(png, 1, png.count, file) == png.count)
    }
}
