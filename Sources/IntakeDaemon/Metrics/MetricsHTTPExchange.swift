/// The HTTP side of the metrics listener, without sockets: from a request's head to the bytes of
/// the answer. Just enough HTTP/1.x for Prometheus, curl and a browser; one request per connection.
enum MetricsHTTPExchange {
    /// The most a request head may take, request line and headers together.
    static let maximumHeadBytes = 8192

    /// The media type of the text exposition format.
    static let metricsContentType = "text/plain; version=0.0.4"

    /// Where the head ends: the index after the blank line (`\r\n\r\n`, or `\n\n` from sloppy
    /// clients), or nil when it has not arrived yet.
    static func headLength(in bytes: [UInt8]) -> Int? {
        guard bytes.count >= 2 else { return nil }
        for index in 1..<bytes.count where bytes[index] == 0x0A {
            if bytes[index - 1] == 0x0A { return index + 1 }
            if index >= 3 && bytes[index - 1] == 0x0D && bytes[index - 2] == 0x0A && bytes[index - 3] == 0x0D {
                return index + 1
            }
        }
        return nil
    }

    /// The answer to one request head: 200 with the metrics for `GET /metrics` or `GET /`,
    /// 404 for another path, 405 for another method, 400 for what is not an HTTP/1.x request.
    /// `metrics` is called only for a 200, so a bad request costs no rendering.
    static func response(toHead head: [UInt8], metrics: () -> String) -> [UInt8] {
        let lineEnd = head.firstIndex(of: 0x0A) ?? head.endIndex
        var line = head[..<lineEnd]
        if line.last == 0x0D { line = line.dropLast() }
        let parts = line.split(separator: 0x20, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, parts[1].first == 0x2F || parts[1].elementsEqual("*".utf8),
            parts[2].starts(with: "HTTP/1.".utf8)
        else { return response(status: "400 Bad Request", body: "bad request\n") }
        guard parts[0].elementsEqual("GET".utf8) else {
            return response(status: "405 Method Not Allowed", body: "only GET\n", extraHeaders: "Allow: GET\r\n")
        }
        // The query is ignored: Prometheus may be configured to send parameters.
        let path = parts[1].prefix { $0 != 0x3F }
        guard path.elementsEqual("/metrics".utf8) || path.elementsEqual("/".utf8) else {
            return response(status: "404 Not Found", body: "not found; metrics are at /metrics\n")
        }
        return response(status: "200 OK", body: metrics(), contentType: metricsContentType)
    }

    /// The answer when the head grew past ``maximumHeadBytes`` without ending.
    static func tooLarge() -> [UInt8] {
        response(status: "431 Request Header Fields Too Large", body: "request head over 8 KiB\n")
    }

    private static func response(
        status: String, body: String, contentType: String = "text/plain; charset=utf-8", extraHeaders: String = ""
    ) -> [UInt8] {
        let bodyBytes = Array(body.utf8)
        let head = "HTTP/1.1 \(status)\r\nContent-Type: \(contentType)\r\nContent-Length: \(bodyBytes.count)\r\n"
            + "\(extraHeaders)Connection: close\r\n\r\n"
        return Array(head.utf8) + bodyBytes
    }
}
