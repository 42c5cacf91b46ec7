import HTTPTypes
import Hummingbird
import Logging

/// Puts the security headers on every response, errors included; answers a ``GatewayError`` thrown
/// by a route with its JSON, and any other error that is not an HTTP one with a generic 500 (the
/// cause goes to the log, never to the client).
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The pages load their script and style sheet from this server only, and nothing else.
    static var contentSecurityPolicy: String {
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    }

    let logger: Logger
    let errorResponse: @Sendable (GatewayError) -> Response

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as GatewayError {
            response = errorResponse(error)
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        } catch {
            logger.error("request failed", metadata: ["http.path": "\(request.uri.path)", "error.cause": "\(error)"])
            let generic = GatewayError(.internalError, "the server could not answer this request")
            response = Response(status: generic.status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: generic.json)))
        }
        response.headers[.contentSecurityPolicy] = Self.contentSecurityPolicy
        response.headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        response.headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        return response
    }
}
