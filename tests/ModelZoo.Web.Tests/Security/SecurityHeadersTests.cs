using System.Net;
using ModelZoo.Web.Security;
using ModelZoo.Web.Tests.Integration;

namespace ModelZoo.Web.Tests.Security;

/// <summary>The security headers on every kind of response of the real portal. That the pages pass with the policy is
/// proven in a browser (tests/ModelZoo.Browser.Tests).</summary>
public class SecurityHeadersTests : IAsyncLifetime
{
    readonly PortalFactory _factory = new(new Dictionary<string, string?> { ["Datasets:FetchOnStartup"] = "false" });
    HttpClient _http = default!;

    public Task InitializeAsync()
    {
        _factory.StartServer();
        _http = new HttpClient { BaseAddress = _factory.ClientOptions.BaseAddress };
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _factory.DisposeAsync();
    }

    [Theory]
    [InlineData("/", HttpStatusCode.OK, "text/html")]                              // a page
    [InlineData("/api/strategies", HttpStatusCode.OK, "application/json")]         // the API
    [InlineData("/api/runs/00000000-0000-0000-0000-000000000001", HttpStatusCode.NotFound, "application/problem+json")] // an API error
    [InlineData("/_framework/blazor.web.js", HttpStatusCode.OK, "text/javascript")] // a framework asset
    [InlineData("/css/app.css", HttpStatusCode.OK, "text/css")]                    // the portal's own static asset
    public async Task EveryResponse_CarriesTheSecurityHeaders(string url, HttpStatusCode status, string mediaType)
    {
        using var response = await _http.GetAsync(url);
        response.StatusCode.ShouldBe(status);
        response.Content.Headers.ContentType!.MediaType.ShouldBe(mediaType);
        Header(response, "X-Content-Type-Options").ShouldBe("nosniff");
        Header(response, "X-Frame-Options").ShouldBe("DENY");
        Header(response, "Referrer-Policy").ShouldBe("same-origin");
        var csp = Header(response, "Content-Security-Policy");
        csp.ShouldBe(SecurityHeaders.ContentSecurityPolicy);
        var directives = csp.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        directives.ShouldContain("frame-ancestors 'none'");
        directives.ShouldContain("default-src 'self'");
        directives.ShouldContain("object-src 'none'");
        directives.ShouldContain("base-uri 'self'");
        directives.ShouldContain("form-action 'self'");
        directives.Single(d => d.StartsWith("script-src ", StringComparison.Ordinal)).ShouldNotContain("'unsafe-inline'", customMessage: "no inline script");
    }

    static string Header(HttpResponseMessage r, string name) =>
        r.Headers.TryGetValues(name, out var v) || r.Content.Headers.TryGetValues(name, out v) ? string.Join(",", v) : "(missing)";
}
