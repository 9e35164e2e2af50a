using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.DomainGap;
using ModelZoo.Infrastructure.Datasets;

namespace ModelZoo.Web.Tests.Integration;

/// <summary>The domain-gap API on datasets the test writes: two samples of one kind of image show a small gap, a
/// brightened copy a large one, and bad requests are refused by field.</summary>
public class DomainGapApiTests : IAsyncLifetime
{
    static JsonSerializerOptions Json => RunPolling.Json;
    readonly PortalFactory _factory = new(new Dictionary<string, string?> { ["Datasets:FetchOnStartup"] = "false" });
    HttpClient _http = default!;

    /// <summary>Two classes of grey images, their brightness offset by <paramref name="shift"/>.</summary>
    static void Write(DatasetStore store, string id, int seed, int shift) =>
        GreyImages.Write(store, id, seed, dark: (20, 71), light: (60, 111), shift, classes: ["a", "b"]);

    public Task InitializeAsync()
    {
        _factory.StartServer();
        _http = new HttpClient { BaseAddress = _factory.ClientOptions.BaseAddress, Timeout = TimeSpan.FromMinutes(5) };
        var store = _factory.Services.GetRequiredService<DatasetStore>();
        Write(store, "grey-a", seed: 1, shift: 0);
        Write(store, "grey-b", seed: 2, shift: 0);
        Write(store, "grey-bright", seed: 3, shift: 140);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _factory.DisposeAsync();
    }

    static DomainGapRequest Request(string target) =>
        new() { ModelId = "resnet18.tv_in1k", SourceDatasetId = "grey-a", TargetDatasetId = target, Examples = 60, ImageSize = 16 };

    [Fact]
    public async Task ABrightenedCopy_IsFurtherAway_ThanAnotherSampleOfTheSameKind()
    {
        var same = await Measure(Request("grey-b"));
        var bright = await Measure(Request("grey-bright"));
        bright.Measures.ProxyADistance.ShouldBeGreaterThan(1.5, "a linear classifier tells brightened images apart");
        bright.Measures.ProxyADistance.ShouldBeGreaterThan(same.Measures.ProxyADistance + 0.5);
        bright.Measures.Mmd2.ShouldBeGreaterThan(same.Measures.Mmd2);
        same.Measures.SourceExamples.ShouldBe(60);
        bright.Notes.ShouldNotBeEmpty();
    }

    async Task<DomainGapReport> Measure(DomainGapRequest request)
    {
        var response = await _http.PostAsJsonAsync("/api/domain-gap", request, Json);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<DomainGapReport>(Json))!;
    }

    [Fact]
    public async Task BadRequests_AreRefused_ByField()
    {
        async Task<IDictionary<string, string[]>> Refused(DomainGapRequest r)
        {
            var response = await _http.PostAsJsonAsync("/api/domain-gap", r, Json);
            response.StatusCode.ShouldBe(HttpStatusCode.BadRequest, await response.Content.ReadAsStringAsync());
            return (await response.Content.ReadFromJsonAsync<ValidationProblemDetails>(Json))!.Errors;
        }
        (await Refused(Request("grey-a")))["TargetDatasetId"].Single().ShouldContain("another dataset");
        (await Refused(Request("nope")))["TargetDatasetId"].Single().ShouldContain("'nope' does not exist");
        (await Refused(Request("grey-b") with { ModelId = "vgg99" }))["ModelId"].Single().ShouldContain("not in the catalogue");
        (await Refused(Request("grey-b") with { Examples = 10 })).Keys.ShouldBe(["Examples"]);
    }
}
