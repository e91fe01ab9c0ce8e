import Hummingbird
@testable import IntakeWeb
import NIOCore
import NIOEmbedded
import NIOHTTPTypes
import Testing

/// `ContinueAnswer` on a channel of its own: which requests are told to continue, and when.
@Suite struct ContinueAnswerTests {
    func request(expecting: Bool, length: Int? = nil) -> HTTPRequestPart {
        var fields = HTTPFields()
        if expecting { fields[.expect] = "100-continue" }
        if let length { fields[.contentLength] = "\(length)" }
        return .head(HTTPRequest(method: .post, scheme: nil, authority: "127.0.0.1", path: "/v1/inbox/prod?name=a.jpg", headerFields: fields))
    }

    /// The statuses of the response heads written so far.
    func written(_ channel: EmbeddedChannel) throws -> [Int] {
        var statuses: [Int] = []
        while let part = try channel.readOutbound(as: HTTPResponsePart.self) {
            if case .head(let response) = part { statuses.append(response.status.code) }
        }
        return statuses
    }

    @Test func onlyAnExpectationWithinTheLimitIsToldToContinue() throws {
        let channel = EmbeddedChannel(handler: ContinueAnswer(maxBytes: 1000))
        try channel.writeInbound(request(expecting: false, length: 10))
        #expect(try written(channel) == [])
        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .accepted)))
        try channel.writeOutbound(HTTPResponsePart.end(nil))
        _ = try written(channel)

        try channel.writeInbound(request(expecting: true, length: 5000))
        #expect(try written(channel) == [], "told to send a body over the limit")
        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .contentTooLarge)))
        try channel.writeOutbound(HTTPResponsePart.end(nil))
        #expect(try written(channel) == [413])

        try channel.writeInbound(request(expecting: true, length: 1000))
        #expect(try written(channel) == [100])
        try channel.writeInbound(request(expecting: true))  // chunked: no length to judge
        _ = try channel.finish()
    }

    /// A pipelined request asking to continue while the response before it is still going out is
    /// told so after that response's end, never inside it.
    @Test func behindAnUnfinishedResponseTheAnswerWaitsForItsEnd() throws {
        let channel = EmbeddedChannel(handler: ContinueAnswer(maxBytes: 1000))
        try channel.writeInbound(request(expecting: false))
        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok)))
        try channel.writeInbound(request(expecting: true, length: 10))
        try channel.writeOutbound(HTTPResponsePart.body(ByteBuffer(string: "first")))
        #expect(try written(channel) == [200])
        try channel.writeOutbound(HTTPResponsePart.end(nil))
        #expect(try written(channel) == [100])

        // A third behind the second: told when the second's response has ended.
        try channel.writeInbound(request(expecting: true, length: 10))
        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .accepted)))
        try channel.writeOutbound(HTTPResponsePart.end(nil))
        #expect(try written(channel) == [202, 100])
        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .badRequest)))
        try channel.writeOutbound(HTTPResponsePart.end(nil))
        #expect(try written(channel) == [400])
        _ = try channel.finish()
    }
}
