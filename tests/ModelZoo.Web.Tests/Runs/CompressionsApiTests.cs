using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Strategies;
using ModelZoo.Torch.Compression;
using ModelZoo.Torch.Weights;
using ModelZoo.Web.Tests.Integration;
using static TorchSharp.torch;

namespace ModelZoo.Web.Tests.Runs;

/// <summary><c>/api/runs/{id}/compressions</c> on the real portal with a tiny run its worker trained: int8 measured on
/// the run's test split, the file it leaves and the card's section; pruning as a queued run of the prune strategy that
/// the same worker trains; and every refusal.</summary>
public sealed class CompressionsApiTests(PredictPortal portal) : IClassFixture<PredictPortal>, IDisposable
{
    HttpClient Http => portal.Http;
    readonly string _dir = Directory.CreateTempSubdirectory("modelzoo-compress-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    async Task<string> Download(string url, string name)
    {
        var response = await Http.GetAsync(url);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, url);
        var path = Path.Combine(_dir, name);
        await File.WriteAllBytesAsync(path, await response.Content.ReadAsByteArrayAsync());
        return path;
    }

    async Task<CompressionResult> Compress(object body)
    {
        var response = await Http.PostAsJsonAsync($"/api/runs/{portal.RunId}/compressions", body);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<CompressionResult>(RunPolling.Json))!;
    }

    [Fact]
    public async Task Int8_ReproducesTheRunsF32Accuracy_MeasuresTheDequantisedModel_AndItsFileHoldsTheScheme()
    {
        var run = (await Http.GetFromJsonAsync<RunView>($"/api/runs/{portal.RunId}", RunPolling.Json))!;
        var r = await Compress(new { method = "int8" });
        r.TestExamples.ShouldBe(portal.Split.Test.Length);
        // The same weights through the same preprocessing: the F32 measurement is the run's own test accuracy.
        r.AccuracyBefore.ShouldBe(run.Result!.TestAccuracy, 1e-12);
        r.RecordedAccuracy.ShouldBe(run.Result.TestAccuracy);
        r.AccuracyAfter.ShouldBeInRange(0, 1);
        r.BytesBefore.ShouldBe(run.Result.TrainedWeights!.Bytes);
        // ResNet-18: conv and linear weights are ~99.9 % of the bytes; a quarter of them plus scales and F32 BatchNorm.
        ((double)r.BytesAfter / r.BytesBefore).ShouldBeInRange(0.24, 0.27);
        r.Loading.ShouldContain("custom code");

        var int8 = await Download($"/api/runs/{portal.RunId}/compressions/{r.Id}/file", "int8.safetensors");
        new FileInfo(int8).Length.ShouldBe(r.BytesAfter);
        Sha256.OfFile(int8).ShouldBe(r.Sha256);
        SafeTensors.ReadMetadata(int8)[Int8Weights.SchemeKey].ShouldBe(Int8Weights.Scheme);
        var header = SafeTensors.ReadHeader(int8).ToDictionary(h => h.Name);
        header["conv1.weight"].Dtype.ShouldBe("I8");
        header["fc.weight"].Dtype.ShouldBe("I8");
        header["bn1.running_var"].Dtype.ShouldBe("F32");

        // The loader's weights against the run's F32 file: within half a scale in every channel of every weight.
        var f32 = await Download($"/api/runs/{portal.RunId}/weights.safetensors", "f32.safetensors");
        var original = SafeTensors.Load(f32);
        var loaded = Int8Weights.Dequantize(int8);
        var raw = SafeTensors.Load(int8);
        try
        {
            loaded.Keys.Order().ShouldBe(original.Keys.Order());
            foreach (var (key, w) in original)
            {
                if (!raw.TryGetValue(key + Int8Weights.ScaleSuffix, out var scale)) { loaded[key].eq(w).all().item<bool>().ShouldBeTrue(key); continue; }
                using var err = (loaded[key] - w).abs().reshape(w.shape[0], -1).amax([1L]);
                using var bound = scale / 2 * 1.0001f;
                err.le(bound).all().item<bool>().ShouldBeTrue(key);
            }
        }
        finally { foreach (var t in original.Values.Concat(loaded.Values).Concat(raw.Values)) t.Dispose(); }

        (await Http.GetFromJsonAsync<List<CompressionResult>>($"/api/runs/{portal.RunId}/compressions", RunPolling.Json))!
            .ShouldContain(c => c.Id == r.Id && c.AccuracyAfter == r.AccuracyAfter);
        var card = await Http.GetStringAsync($"/api/runs/{portal.RunId}/card.md");
        card.ShouldContain("## Compression");
        card.ShouldContain("int8 weights (per-channel, symmetric)");
        card.ShouldContain("needs the int8 loader");
    }

    /// <summary>Posts a pruning request, checks the 202 naming the queued run, and waits for that run to end.</summary>
    async Task<RunView> Prune(object body)
    {
        var response = await Http.PostAsJsonAsync($"/api/runs/{portal.RunId}/compressions", body);
        response.StatusCode.ShouldBe(HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        var launch = (await response.Content.ReadFromJsonAsync<CompressionLaunch>(RunPolling.Json))!;
        launch.Method.ShouldBe("prune");
        launch.Url.ShouldBe($"/api/runs/{launch.RunId}");
        launch.Page.ShouldBe($"/runs/{launch.RunId}");
        response.Headers.Location!.ToString().ShouldBe(launch.Url);
        var run = await Http.WaitForTerminalAsync(launch.RunId);
        run.Status.ShouldBe(RunStatus.Succeeded, run.Error);
        return (await Http.GetFromJsonAsync<RunView>(launch.Url, RunPolling.Json))!;
    }

    [Fact]
    public async Task Pruning_QueuesAPruneRunFromThisRun_WhoseSavedWeightsHoldTheZerosItsResultReports()
    {
        var source = (await Http.GetFromJsonAsync<RunView>($"/api/runs/{portal.RunId}", RunPolling.Json))!;
        var run = await Prune(new { method = "prune", sparsity = 0.5, scope = "layer", fineTuneEpochs = 1 });
        run.Strategy.ShouldBe("prune");
        run.Request.SourceRunId.ShouldBe(portal.RunId);
        run.ModelId.ShouldBe(source.ModelId);
        run.DatasetId.ShouldBe(source.DatasetId);
        run.Request.HyperParameters.ImageSize.ShouldBe(source.Request.HyperParameters.ImageSize);
        var r = run.Result!;
        // The source run's weights on the same test split: exactly what that run recorded.
        r.Values[PruneOptions.AccuracyBefore].ShouldBe(source.Result!.TestAccuracy, 1e-12);
        r.Values.ContainsKey(PruneOptions.AccuracyPruned).ShouldBeTrue();
        var layers = r.Values.Where(v => v.Key.StartsWith(PruneOptions.LayerPrefix)).ToDictionary(v => v.Key[PruneOptions.LayerPrefix.Length..], v => v.Value);
        layers.Count.ShouldBe(21, "ResNet-18: 20 convolutions (3 of them downsampling) and the classifier");
        r.TrainedWeights!.Bytes.ShouldBeInRange(source.Result.TrainedWeights!.Bytes - 1024, source.Result.TrainedWeights.Bytes + 1024, "zeros are stored densely");

        // The pruned run's own weights file holds the zeros its result reports, at least half of every layer.
        var pruned = await Download($"/api/runs/{run.Id}/weights.safetensors", "pruned.safetensors");
        var weights = SafeTensors.Load(pruned);
        try
        {
            foreach (var (key, sparsity) in layers)
            {
                var n = weights[key].numel();
                var zeros = weights[key].eq(0).sum().item<long>();
                zeros.ShouldBeGreaterThanOrEqualTo((long)Math.Floor(0.5 * n), key);
                sparsity.ShouldBe((double)zeros / n, 1e-12, key);
            }
        }
        finally { foreach (var t in weights.Values) t.Dispose(); }

        // Live progress like any run: the epoch's sparsity is a stored metric; the card says what pruning did.
        (await Http.GetFromJsonAsync<List<JsonElement>>($"/api/runs/{run.Id}/metrics/{PruneOptions.SparsityMetric}", RunPolling.Json))!.Count.ShouldBe(1);
        var card = await Http.GetStringAsync($"/api/runs/{run.Id}/card.md");
        card.ShouldContain("Sparsity reached");
        card.ShouldContain("Test accuracy before pruning");
        card.ShouldContain(portal.RunId.ToString());
    }

    [Fact]
    public async Task Pruning_Globally_WithoutAFineTune_PrunesExactlyTheFractionOfAllWeights()
    {
        var run = await Prune(new { method = "prune", sparsity = 0.8, scope = "global", fineTuneEpochs = 0 });
        var pruned = await Download($"/api/runs/{run.Id}/weights.safetensors", "pruned-global.safetensors");
        var weights = SafeTensors.Load(pruned);
        long total = 0, zeros = 0;
        try
        {
            foreach (var key in run.Result!.Values.Keys.Where(k => k.StartsWith(PruneOptions.LayerPrefix)).Select(k => k[PruneOptions.LayerPrefix.Length..]))
            {
                total += weights[key].numel();
                zeros += weights[key].eq(0).sum().item<long>();
            }
        }
        finally { foreach (var t in weights.Values) t.Dispose(); }
        // Trained float weights are never exactly zero, so the zeros are exactly those pruned.
        zeros.ShouldBe((long)Math.Floor(0.8 * total));
        run.Result!.Values[PruneOptions.SparsityMetric].ShouldBe((double)zeros / total, 1e-12);
        run.Result.TestAccuracy.ShouldBe(run.Result.Values[PruneOptions.AccuracyPruned], 1e-12, "nothing trained after pruning");
        run.Result.TrainableParameters.ShouldBe(0);
    }

    [Fact]
    public async Task Pruning_ARunThatHasNotSucceeded_Is409_NamingWhy()
    {
        var source = (await Http.GetFromJsonAsync<RunView>($"/api/runs/{portal.RunId}", RunPolling.Json))!;
        var response = await Http.PostAsJsonAsync("/api/runs", new RunRequest
        {
            ModelId = source.ModelId, DatasetId = source.DatasetId,
            Strategy = "full-fine-tune", HyperParameters = new HyperParameters { Epochs = 1, BatchSize = 16, ImageSize = 16, Seed = 3 },
        }, RunPolling.Json);
        response.StatusCode.ShouldBe(HttpStatusCode.Created);
        var pending = (await response.Content.ReadFromJsonAsync<RunView>(RunPolling.Json))!.Id;
        try
        {
            var refused = await Http.PostAsJsonAsync($"/api/runs/{pending}/compressions", new { method = "prune", sparsity = 0.5 });
            refused.StatusCode.ShouldBe(HttpStatusCode.Conflict);
            (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString()!.ShouldContain("must be a run that succeeded");
        }
        finally { await Http.PostAsync($"/api/runs/{pending}/cancel", null); }
    }

    [Fact]
    public async Task BadOptions_Are400_NamingTheOption_AndStoreNothing_AnUnknownRunIs404()
    {
        var before = (await Http.GetFromJsonAsync<List<CompressionResult>>($"/api/runs/{portal.RunId}/compressions", RunPolling.Json))!.Count;
        var bad = await Http.PostAsJsonAsync($"/api/runs/{portal.RunId}/compressions", new { method = "prune", sparsity = 1.2 });
        bad.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var body = await bad.Content.ReadFromJsonAsync<JsonElement>();
        body.GetProperty("errors").GetProperty("sparsity")[0].GetString()!.ShouldContain("sparsity must be between 0 and 0.99");
        var method = await Http.PostAsJsonAsync($"/api/runs/{portal.RunId}/compressions", new { method = "zip" });
        method.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await method.Content.ReadAsStringAsync()).ShouldContain("method must be 'int8' or 'prune'");
        (await Http.GetFromJsonAsync<List<CompressionResult>>($"/api/runs/{portal.RunId}/compressions", RunPolling.Json))!.Count.ShouldBe(before);

        var unknown = Guid.NewGuid();
        (await Http.PostAsJsonAsync($"/api/runs/{unknown}/compressions", new { method = "int8" })).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await Http.GetAsync($"/api/runs/{unknown}/compressions")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await Http.GetAsync($"/api/runs/{portal.RunId}/compressions/{Guid.NewGuid()}/file")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }
}
