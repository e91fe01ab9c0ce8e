import Hummingbird
import IntakeCore

/// `GET /`: one page to upload files and see their outcomes arrive, and to review what went wrong.
/// Plain HTML, CSS and JavaScript served by this process: no build step, nothing from elsewhere,
/// and a content security policy that lets the page load only from this server.
enum Page {
    /// The page's paths; they carry no data, so they are served without a token (the page asks
    /// for one when the API answers 401).
    static let paths: Set<String> = ["/", "/page.js", "/page.css"]

    static func add(to router: Router<BasicRequestContext>, environments: [String]) {
        let html = document(environments: environments)
        router.get("/") { _, _ in response(html, type: "text/html; charset=utf-8") }
        router.get("/page.js") { _, _ in response(PageScript.source, type: "text/javascript; charset=utf-8") }
        router.get("/page.css") { _, _ in response(style, type: "text/css; charset=utf-8") }
    }

    private static func response(_ text: String, type: String) -> Response {
        Response(
            status: .ok,
            headers: [
                .contentType: type, .cacheControl: "no-cache", .xContentTypeOptions: "nosniff",
                .contentSecurityPolicy: "default-src 'self'; img-src 'self' blob:; frame-ancestors 'none'",
            ],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    static func document(environments: [String]) -> String {
        let names = environments.map(HTMLText.escaped).joined(separator: " ")
        return """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>intake</title>
            <link rel="stylesheet" href="/page.css">
            <script src="/page.js"></script>
            </head>
            <body data-environments="\(names)">
            <header>
              <h1>intake</h1>
              <nav><button id="tab-upload" type="button">Upload</button><button id="tab-review" type="button">Review</button></nav>
              <span id="live">connecting</span>
              <label id="token-box" hidden>token <input id="token" type="password" autocomplete="off"></label>
            </header>
            <main>
            <section id="upload">
              <div class="controls">
                <label>environment <select id="env"></select></label>
                <label>meter <input id="meter" placeholder="optional, e.g. MTR-1" size="14"></label>
              </div>
              <label id="drop">Drop images here, or <span class="pick">choose files</span>
                <input id="files" type="file" multiple accept="image/jpeg,image/png,image/heic,image/heif,.heic,.heif,image/avif,image/webp,image/tiff,image/gif,image/bmp"></label>
              <ul id="uploads"></ul>
            </section>
            <section id="review" hidden>
              <div class="controls">
                <label>environment <select id="review-env"><option value="">all</option></select></label>
                <label>filter <input id="review-filter" placeholder="name, meter or reason"></label>
                <span id="review-error"></span>
              </div>
              <div id="summary"></div>
              <h2>Failures</h2>
              <table><thead><tr><th>file</th><th>env</th><th>meter</th><th>why</th><th>when</th></tr></thead><tbody id="failures"></tbody></table>
              <h2>Meters: mismatched and unreadable</h2>
              <table><thead><tr><th>file</th><th>env</th><th>meter</th><th>verdict</th><th>when</th></tr></thead><tbody id="meters"></tbody></table>
              <div id="detail" hidden></div>
            </section>
            </main>
            </body>
            </html>

            """
    }

    static let style = """
        :root { font-family: system-ui, sans-serif; color: #1d232a; background: #f6f7f9; }
        body { margin: 0; }
        header { display: flex; gap: 1.5rem; align-items: center; padding: .6rem 1.2rem; background: #1d232a; color: #fff; }
        header h1 { font-size: 1.2rem; margin: 0; }
        nav button { background: none; border: 0; color: #aab4bf; font-size: 1rem; padding: .3rem .7rem; cursor: pointer; }
        nav button.active { color: #fff; border-bottom: 2px solid #4ea1ff; }
        #live { margin-left: auto; font-size: .85rem; color: #8fd19e; }
        main { padding: 1rem 1.2rem; max-width: 70rem; }
        .controls { display: flex; gap: 1.2rem; align-items: center; margin-bottom: .8rem; flex-wrap: wrap; }
        #drop { display: block; border: 2px dashed #9aa5b1; border-radius: 8px; padding: 1.6rem; text-align: center; background: #fff; cursor: pointer; }
        #drop.over { border-color: #4ea1ff; background: #eef6ff; }
        #drop .pick { color: #1f6fd1; text-decoration: underline; }
        #drop input { display: block; margin: .6rem auto 0; }
        #uploads { list-style: none; padding: 0; display: grid; grid-template-columns: repeat(auto-fill, minmax(20rem, 1fr)); gap: .8rem; }
        .card { background: #fff; border-radius: 8px; padding: .7rem; box-shadow: 0 1px 3px #0002; border-left: 4px solid #9aa5b1; }
        .card.completed { border-left-color: #2f9e44; }
        .card.failed, .card.refused { border-left-color: #e03131; }
        .card.processing, .card.pending { border-left-color: #f59f00; }
        .head { display: flex; justify-content: space-between; gap: .5rem; }
        .name { font-weight: 600; overflow-wrap: anywhere; }
        .status { font-size: .8rem; font-weight: 600; }
        progress { width: 100%; }
        .pictures { display: flex; gap: .3rem; flex-wrap: wrap; margin: .4rem 0; }
        .pictures img.derivative { width: 128px; height: 128px; }
        .pictures img.rotation { width: 40px; height: 40px; align-self: flex-end; }
        .labels { display: flex; flex-wrap: wrap; gap: .3rem; list-style: none; padding: 0; margin: .3rem 0; }
        .labels li { background: #e7f0fa; border-radius: 4px; padding: .1rem .4rem; font-size: .85rem; }
        .reason { color: #c92a2a; }
        .meter { font-size: .9rem; }
        .meter.mismatch, .meter.unreadable { color: #c92a2a; }
        .raw { font-size: .75rem; color: #6b7785; }
        #summary { display: flex; gap: 1rem; margin: .5rem 0 1rem; }
        .count { background: #fff; border-radius: 6px; padding: .5rem 1rem; box-shadow: 0 1px 3px #0002; }
        .count b { font-size: 1.4rem; display: block; }
        table { border-collapse: collapse; width: 100%; background: #fff; margin-bottom: 1rem; }
        th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #e3e7eb; font-size: .9rem; }
        #detail { position: fixed; right: 1rem; top: 4rem; width: 22rem; }
        #review-error { color: #c92a2a; }

        """
}
