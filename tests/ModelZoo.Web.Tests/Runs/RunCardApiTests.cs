using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ModelZoo.Core.Cards;
using ModelZoo.Core.Runs;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Runs.Cards;
using ModelZoo.Web.Tests.Integration;
using SkiaSharp;
using YamlDotNet.RepresentationModel;

namespace ModelZoo.Web.Tests.Runs;

/// <summary>The card editor's API on the real portal, on cards the worker generated for two trained runs: versions,
/// conflicts, refusals, and the card as a folder.</summary>
public class RunCardApiTests(TwoTrainedRuns runs) : IClassFixture<TwoTrainedRuns>
{
    readonly HttpClient _http = runs.Http;

    record Sections(string? IntendedUse, string? EthicalConsiderations, int BaseVersion);

    async Task<CardView> Card(Guid id, int? version = null) =>
        (await _http.GetFromJsonAsync<CardView>($"/api/runs/{id}/card{(version is { } v ? $"?version={v}" : "")}", RunPolling.Json))!;

    [Fact]
    public async Task Writing_AddsVersions_TheRunAndItsDownloadCarryTheLatest_AndEarlierVersionsStayReadable()
    {
        var id = runs.A.Id;
        var before = await Card(id);
        before.Version.ShouldBe(0);
        before.Markdown.Split(CardComposer.PlaceholderMark).Length.ShouldBe(3, "both person-written sections are marked placeholders");
        var generatedResults = Section(before.Markdown, "## Results on the held-out test split");

        var first = await _http.PutAsJsonAsync($"/api/runs/{id}/card/sections", new Sections("Sorting digits in the test lab.", null, 0), RunPolling.Json);
        first.StatusCode.ShouldBe(HttpStatusCode.OK, await first.Content.ReadAsStringAsync());
        var second = await _http.PutAsJsonAsync($"/api/runs/{id}/card/sections",
            new Sections("Sorting digits in the test lab.\n\n### Not for\n\nCheques.", "No personal data: public digits.", 1), RunPolling.Json);
        second.StatusCode.ShouldBe(HttpStatusCode.OK);

        var latest = await Card(id);
        latest.Version.ShouldBe(2);
        latest.Versions.Select(v => v.Version).ShouldBe([1, 2]);
        latest.Markdown.ShouldContain("### Not for\n\nCheques.");
        latest.Markdown.ShouldNotContain(CardComposer.PlaceholderMark);
        Section(latest.Markdown, "## Results on the held-out test split").ShouldBe(generatedResults, "generated sections are never edited");

        var v1 = await Card(id, 1);
        v1.Markdown.ShouldContain("Sorting digits in the test lab.");
        v1.Markdown.ShouldNotContain("Cheques.");
        v1.Markdown.Split(CardComposer.PlaceholderMark).Length.ShouldBe(2, "version 1 left ethical considerations unwritten");
        (await _http.GetAsync($"/api/runs/{id}/card?version=3")).StatusCode.ShouldBe(HttpStatusCode.NotFound);

        var run = (await _http.GetFromJsonAsync<RunView>($"/api/runs/{id}", RunPolling.Json))!;
        run.CardMarkdown.ShouldBe(latest.Markdown);
        (await _http.GetStringAsync($"/api/runs/{id}/card.md")).ShouldBe(latest.Markdown);

        var again = await _http.PutAsJsonAsync($"/api/runs/{id}/card/sections",
            new Sections("Sorting digits in the test lab.\r\n\r\n### Not for\r\n\r\nCheques.  ", "No personal data: public digits.", 2), RunPolling.Json);
        again.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await Card(id)).Versions.Count.ShouldBe(2, "the same text (up to line ends and spaces) adds no version");
    }

    [Fact]
    public async Task ASaveFromAnOlderVersion_IsAConflict_AndLosesNothing()
    {
        var id = runs.B.Id;
        var start = (await Card(id)).LatestVersion;
        (await _http.PutAsJsonAsync($"/api/runs/{id}/card/sections", new Sections("Reviewer one.", null, start), RunPolling.Json)).StatusCode.ShouldBe(HttpStatusCode.OK);
        var late = await _http.PutAsJsonAsync($"/api/runs/{id}/card/sections", new Sections("Reviewer two, from the same version.", null, start), RunPolling.Json);
        late.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        (await late.Content.ReadAsStringAsync()).ShouldContain($"version {start + 1} has been saved since");
        var card = await Card(id);
        card.Author.IntendedUse.ShouldBe("Reviewer one.");
        card.LatestVersion.ShouldBe(start + 1);
    }

    [Fact]
    public async Task BadText_UnknownRuns_AndRunsWithoutACard_AreRefused_WithReasons()
    {
        var heading = await _http.PutAsJsonAsync($"/api/runs/{runs.A.Id}/card/sections", new Sections("ok\n## Results\n\n100 %", null, 99), RunPolling.Json);
        heading.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        using (var problem = JsonDocument.Parse(await heading.Content.ReadAsStringAsync()))
            problem.RootElement.GetProperty("errors").GetProperty("intendedUse")[0].GetString()!.ShouldContain("Line 2");

        var tooLong = await _http.PutAsJsonAsync($"/api/runs/{runs.A.Id}/card/sections", new Sections(null, new string('x', 20_001), 0), RunPolling.Json);
        tooLong.StatusCode.ShouldBe(HttpStatusCode.BadRequest);

        var unknown = Guid.NewGuid();
        (await _http.PutAsJsonAsync($"/api/runs/{unknown}/card/sections", new Sections("x", null, 0), RunPolling.Json)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await _http.GetAsync($"/api/runs/{unknown}/card")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await _http.GetAsync($"/api/runs/{unknown}/card.zip")).StatusCode.ShouldBe(HttpStatusCode.NotFound);

        // A run that never succeeds has no card to write in: queued far behind, then cancelled.
        var launched = await _http.PostAsJsonAsync("/api/runs", new RunRequest
        {
            ModelId = "resnet18.tv_in1k", DatasetId = MnistNpmDataset.Id, Name = "no card",
            HyperParameters = new HyperParameters { Epochs = 50, BatchSize = 32, ImageSize = 16, TrainLimit = 64 },
        }, RunPolling.Json);
        var queued = (await launched.Content.ReadFromJsonAsync<RunView>(RunPolling.Json))!;
        await _http.PostAsync($"/api/runs/{queued.Id}/cancel", null);
        (await _http.WaitForTerminalAsync(queued.Id)).Status.ShouldBe(RunStatus.Cancelled);
        var noCard = await _http.PutAsJsonAsync($"/api/runs/{queued.Id}/card/sections", new Sections("x", null, 0), RunPolling.Json);
        noCard.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        (await noCard.Content.ReadAsStringAsync()).ShouldContain("only a succeeded run has a card");
    }

    [Fact]
    public async Task TheZip_HoldsTheReadme_ItsYaml_AndTheCurvesItLinks()
    {
        var response = await _http.GetAsync($"/api/runs/{runs.A.Id}/card.zip");
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/zip");
        using var zip = new ZipArchive(await response.Content.ReadAsStreamAsync());
        zip.Entries.Select(e => e.FullName).Order(StringComparer.Ordinal).ShouldBe(["README.md", "images/curves.png", "metadata.yaml"]);

        string Text(string name) { using var r = new StreamReader(zip.GetEntry(name)!.Open()); return r.ReadToEnd(); }
        var readme = Text("README.md");
        readme.ShouldContain("](images/curves.png)");
        readme.ShouldStartWith("---\n" + Text("metadata.yaml") + "---\n");

        var yaml = new YamlStream();
        yaml.Load(new StringReader(Text("metadata.yaml")));
        var root = (YamlMappingNode)yaml.Documents.Single().RootNode;
        root.Children.Keys.Select(k => k.ToString()).ShouldContain("model-index");

        using var png = new MemoryStream();
        zip.GetEntry("images/curves.png")!.Open().CopyTo(png);
        using var bitmap = SKBitmap.Decode(png.ToArray());
        bitmap.ShouldNotBeNull();
        bitmap.Width.ShouldBe(960);
        // Something was drawn besides the white background: the curves of the run's two epochs.
        var ink = 0;
        for (var y = 0; y < bitmap.Height; y += 2)
        for (var x = 0; x < bitmap.Width; x += 2)
            if (bitmap.GetPixel(x, y) is var p && (p.Red < 200 || p.Blue < 200)) ink++;
        ink.ShouldBeGreaterThan(200);
    }

    [Fact]
    public async Task TwoRunsCards_AndTwoVersionsOfOne_AreDiffedBySection()
    {
        var runsDiff = (await _http.GetFromJsonAsync<CardDiffView>($"/api/cards/diff?a={runs.A.Id}&b={runs.B.Id}", RunPolling.Json))!;
        runsDiff.A.RunId.ShouldBe(runs.A.Id);
        var training = runsDiff.Sections.Single(s => s.Heading == "Training procedure");
        training.Change.ShouldBe(SectionChange.Changed, "the two runs' seeds differ");
        training.Lines.ShouldContain(l => l.Change == LineChange.Removed && l.Text.Contains('1'));
        runsDiff.Sections.Single(s => s.Heading == CardDiff.Opening).Change.ShouldBe(SectionChange.Changed, "the runs' names differ");

        var id = runs.B.Id;
        var start = (await Card(id)).LatestVersion;
        (await _http.PutAsJsonAsync($"/api/runs/{id}/card/sections", new Sections($"Diff test {start}.", null, start), RunPolling.Json)).StatusCode.ShouldBe(HttpStatusCode.OK);
        var versions = (await _http.GetFromJsonAsync<CardDiffView>($"/api/cards/diff?a={id}&av={start}&b={id}&bv={start + 1}", RunPolling.Json))!;
        versions.Sections.Where(s => s.Change != SectionChange.Same).Select(s => s.Heading).ShouldBe(["Intended use"]);
        versions.Sections.Single(s => s.Heading == "Intended use").Lines.ShouldContain(new DiffLine(LineChange.Added, $"Diff test {start}."));

        (await _http.GetAsync($"/api/cards/diff?a={id}")).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var missing = await _http.GetAsync($"/api/cards/diff?a={id}&b={id}&bv=99");
        missing.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await missing.Content.ReadAsStringAsync()).ShouldContain("Card B");
    }

    /// <summary>A level-2 section's text, up to the next level-2 heading.</summary>
    static string Section(string md, string heading)
    {
        var start = md.IndexOf(heading + "\n", StringComparison.Ordinal);
        start.ShouldBeGreaterThanOrEqualTo(0);
        var next = md.IndexOf("\n## ", start + heading.Length, StringComparison.Ordinal);
        return next < 0 ? md[start..] : md[start..next];
    }
}
