namespace ModelZoo.Web.Security;

/// <summary>
/// Security headers on every response (pages, the API, static assets, errors): no sniffing, no framing, the referrer kept
/// to this origin, and a Content-Security-Policy that the portal's own pages pass with (the browser tests load every page
/// under it and fail on any violation). The headers are added when the response starts, so a response that the
/// exception handler clears and rewrites still carries them.
/// </summary>
public static class SecurityHeaders
{
    /// <summary>
    /// Everything from this origin only. Scripts: the Blazor, MudBlazor and Plotly files, no inline script. 'unsafe-eval'
    /// is there for one chart: the compare page's parallel coordinates (plotly's parcoords) draws with WebGL through
    /// regl, which compiles its draw calls with Function(...); the browser tests saw the CSP block it. Every other chart
    /// is SVG and needs no eval. plotly.js's "strict" bundle (regl precompiled) would let this go, but Plotly.Blazor
    /// loads only its own bundled copy.
    /// Styles allow inline: MudBlazor writes style attributes and Blazor's reconnect dialog and plotly.js add style
    /// elements. Images and fonts also from data: URIs (MudBlazor's and plotly's embedded icons, plotly's PNG export) and
    /// blob: (plotly's export). connect-src 'self' covers Blazor's and the hub's same-origin websocket.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; " +
        "script-src 'self' 'unsafe-eval'; " +
        "style-src 'self' 'unsafe-inline'; " +
        "img-src 'self' data: blob:; " +
        "font-src 'self' data:; " +
        "connect-src 'self'; " +
        "object-src 'none'; " +
        "base-uri 'self'; " +
        "form-action 'self'; " +
        "frame-ancestors 'none'";

    public static WebApplication UseZooSecurityHeaders(this WebApplication app)
    {
        app.Use((context, next) =>
        {
            context.Response.OnStarting(() =>
            {
                var headers = context.Response.Headers;
                headers.XContentTypeOptions = "nosniff";
                headers.XFrameOptions = "DENY";
                headers["Referrer-Policy"] = "same-origin";
                headers.ContentSecurityPolicy = ContentSecurityPolicy;
                return Task.CompletedTask;
            });
            return next(context);
        });
        return app;
    }
}
