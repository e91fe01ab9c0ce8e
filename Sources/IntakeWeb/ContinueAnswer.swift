import Hummingbird
import NIOCore
import NIOHTTPTypes

/// Answers `Expect: 100-continue` with `100 Continue`, which neither Hummingbird nor NIO sends:
/// curl asks it before any body over 1 MiB (and libcurl-based field apps do the same), and without
/// an answer it waits a second before sending the body anyway; a client that waits for it
/// waits until the connection's idle timeout. It is not sent when the declared length is over
/// `maxBytes`: the upload route answers 413 at once, and the client sends no body at all.
///
/// A connection's requests are answered in order (a client may send the next before the last is
/// answered), and a request that arrives while an earlier one's response is still going out gets
/// its `100 Continue` once that response has ended, never in the middle of it.
final class ContinueAnswer: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let maxBytes: Int
    /// Requests whose heads have come in and whose responses have not ended.
    private var unanswered = 0
    /// The newest request asked to be told to continue, behind an earlier response still going out.
    private var continueOwed = false

    init(maxBytes: Int) { self.maxBytes = maxBytes }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let request) = unwrapInboundIn(data) {
            unanswered += 1
            if Self.wantsContinue(request, maxBytes: maxBytes) {
                if unanswered == 1 { sendContinue(context) } else { continueOwed = true }
            }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let ended = if case .end = unwrapOutboundIn(data) { true } else { false }
        context.write(data, promise: promise)
        guard ended else { return }
        // Responses go out in the order of their requests: the owed request is next.
        unanswered = max(0, unanswered - 1)
        if continueOwed && unanswered == 1 {
            continueOwed = false
            sendContinue(context)
        }
    }

    private func sendContinue(_ context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
    }

    /// An `Expect: 100-continue` (the only expectation HTTP defines) with no declared length over
    /// the limit.
    static func wantsContinue(_ request: HTTPRequest, maxBytes: Int) -> Bool {
        guard let expectation = request.headerFields[.expect], expectation.lowercased() == "100-continue" else { return false }
        if let declared = request.headerFields[.contentLength].flatMap({ Int($0) }), declared > maxBytes { return false }
        return true
    }
}
