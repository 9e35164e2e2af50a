using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using ModelZoo.Core.Runs;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Web.Tests.Integration;

namespace ModelZoo.Web.Tests.Runs;

/// <summary>
/// The compare API and page on the real portal: two runs trained by the worker (TorchSharp, the npm digits), then
/// compared as CSV, Markdown and the prerendered page.
/// </summary>
/// <summary>One portal and two trained runs, shared by the tests of this class (training is the slow part).</summary>
public sealed class TwoTrainedRuns : IAsyncLifetime
{
    public PortalFactory Factory { get; } = new();
    public HttpClient Http { get; private set; } = default!;
    public RunView A { get; private set; } = default!;
    public RunView B { get; private set; } = default!;

    public async Task InitializeAsync()
    {
        Factory.StartServer();
        Http = new HttpClient { BaseAddress = Factory.ClientOptions.BaseAddress, Timeout = TimeSpan.FromMinutes(3) };
        await Factory.Services.GetRequiredService<DatasetFetchService>().EnsureDefaultAsync(CancellationToken.None);
        var a = await Launch("compare, \"a\"", seed: 1);
        var b = await Launch("compare b", seed: 2);
        A = await Http.WaitForTerminalAsync(a);
        B = await Http.WaitForTerminalAsync(b);
        A.Status.ShouldBe(RunStatus.Succeeded, A.Error);
        B.Status.ShouldBe(RunStatus.Succeeded, B.Error);
    }

    async Task<Guid> Launch(string name, int seed)
    {
        var response = await Http.PostAsJsonAsync("/api/runs", new RunRequest
        {
            ModelId = "resnet18.tv_in1k", DatasetId = MnistNpmDataset.Id, Name = name,
            HyperParameters = new HyperParameters { Epochs = 2, BatchSize = 32, LearningRate = 3e-3, Seed = seed, ImageSize = 16, TrainLimit = 64 },
        }, RunPolling.Json);
        response.StatusCode.ShouldBe(HttpStatusCode.Created);
        return (await response.Content.ReadFromJsonAsync<RunView>(RunPolling.Json))!.Id;
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Factory.DisposeAsync();
    }
}

public class CompareRunsApiTests(TwoTrainedRuns runs) : IClassFixture<TwoTrainedRuns>
{
    readonly HttpClient _http = runs.Http;
    readonly RunView _a = runs.A, _b = runs.B;

    [Fact]
    public async Task Compare_ExportsBothRunsAsCsvAndMarkdown_AndThePageShowsThem()
    {
        var csvResponse = await _http.GetAsync($"/api/runs/compare?ids={_a.Id},{_b.Id}&format=csv");
        csvResponse.StatusCode.ShouldBe(HttpStatusCode.OK);
        csvResponse.Content.Headers.ContentType!.MediaType.ShouldBe("text/csv");
        csvResponse.Content.Headers.ContentDisposition!.FileName.ShouldNotBeNull().ShouldEndWith(".csv");
        var lines = (await csvResponse.Content.ReadAsStringAsync()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        lines.Length.ShouldBe(3);
        var header = lines[0].Split(',');
        header.ShouldContain("val_acc_best_epoch");
        foreach (var (line, run) in new[] { (lines[1], _a), (lines[2], _b) })
        {
            line.ShouldStartWith(run.Id.ToString());
            line.ShouldContain(",Succeeded,");
            var cells = line.Replace("\"compare, \"\"a\"\"\"", "name").Split(',');
            cells[Array.IndexOf(header, "test_acc")].ShouldBe(run.Result!.TestAccuracy.ToString("0.######", System.Globalization.CultureInfo.InvariantCulture));
            cells[Array.IndexOf(header, "trainable_params")].ShouldBe(run.Result.TrainableParameters.ToString());
            cells[Array.IndexOf(header, "seed")].ShouldBe(run.Request.HyperParameters.Seed.ToString());
            int.Parse(cells[Array.IndexOf(header, "val_acc_best_epoch")]).ShouldBeInRange(1, 2);
        }
        lines[1].ShouldContain("\"compare, \"\"a\"\"\"", customMessage: "a name with a comma and quotes is one quoted cell");

        var md = await _http.GetStringAsync($"/api/runs/compare?ids={_a.Id},{_b.Id}&format=md");
        md.TrimEnd('\n').Split('\n').Length.ShouldBe(4);
        md.ShouldContain("| compare b |");

        var page = await _http.GetStringAsync($"/runs/compare?ids={_a.Id},{_b.Id}");
        page.ShouldContain("compare, &quot;a&quot;");
        page.ShouldContain("compare b");
        page.ShouldContain("data-testid=\"compare-loss\" data-traces=\"2\"");
        page.ShouldContain("data-trace-names=\"compare, &quot;a&quot;|compare b\"");
    }

    [Fact]
    public async Task Compare_AsJsonWithCurves_GivesEachRunsRecordedCurves_InOneCall()
    {
        using var json = System.Text.Json.JsonDocument.Parse(await _http.GetStringAsync($"/api/runs/compare?ids={_a.Id},{_b.Id}&curves=true"));
        var root = json.RootElement;
        root.GetProperty("table").GetProperty("rows").GetArrayLength().ShouldBe(2);
        var curves = root.GetProperty("curves").EnumerateArray().ToList();
        curves.Select(c => c.GetProperty("id").GetGuid()).ShouldBe([_a.Id, _b.Id]);
        var events = await _http.GetFromJsonAsync<List<RunEvent>>($"/api/runs/{_a.Id}/events", RunPolling.Json);
        var epochs = events!.Where(e => e.Kind == RunEventKind.Epoch).Select(e => e.Epoch!).ToList();
        var valAcc = curves[0].GetProperty("perEpoch").GetProperty("val_acc").EnumerateArray().ToList();
        valAcc.Select(p => p.GetProperty("value").GetDouble()).ShouldBe(epochs.Select(e => e.ValAccuracy), tolerance: 1e-12);
        valAcc.Select(p => p.GetProperty("epoch").GetDouble()).ShouldBe(epochs.Select(e => (double)e.Epoch));
        curves[0].GetProperty("perStep").GetProperty("loss").GetArrayLength().ShouldBe(events.Count(e => e.Kind == RunEventKind.Step));
        // Without the flag the JSON stays the table alone, as before.
        using var plain = System.Text.Json.JsonDocument.Parse(await _http.GetStringAsync($"/api/runs/compare?ids={_a.Id},{_b.Id}"));
        plain.RootElement.TryGetProperty("curves", out _).ShouldBeFalse();
    }

    [Fact]
    public async Task Compare_NamesUnknownIds_AndRefusesMalformedOrTooLongLists()
    {
        var unknown = Guid.NewGuid();
        var missing = await _http.GetAsync($"/api/runs/compare?ids={_a.Id},{unknown}&format=csv");
        missing.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await missing.Content.ReadAsStringAsync()).ShouldContain(unknown.ToString());

        var malformed = await _http.GetAsync("/api/runs/compare?ids=not-a-run");
        malformed.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await malformed.Content.ReadAsStringAsync()).ShouldContain("Not a run id: not-a-run");

        var many = string.Join(",", Enumerable.Range(0, 51).Select(_ => Guid.NewGuid()));
        var tooMany = await _http.GetAsync($"/api/runs/compare?ids={many}");
        tooMany.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await tooMany.Content.ReadAsStringAsync()).ShouldContain("at most 50");

        // The page says the same and still compares the runs that exist.
        var page = await _http.GetStringAsync($"/runs/compare?ids={_a.Id},{unknown}");
        page.ShouldContain($"No run has the id {unknown}");
        page.ShouldContain("compare, &quot;a&quot;");
        (await _http.GetStringAsync($"/runs/compare?ids={many}")).ShouldContain("at most 50");
    }
}
