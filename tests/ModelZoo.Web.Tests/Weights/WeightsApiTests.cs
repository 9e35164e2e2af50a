using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using ModelZoo.Infrastructure.Tests.Weights;
using ModelZoo.Torch.Tests;
using ModelZoo.Torch.Weights;
using ModelZoo.Web.Tests.Integration;

namespace ModelZoo.Web.Tests.Weights;

/// <summary>The weights endpoints of the real portal over HTTP, with a catalogue made for the test.</summary>
public sealed class WeightsApiTests : IAsyncLifetime
{
    const string Fixture = "resnet18_seed7.safetensors";
    const long MaxUpload = 24L << 20;
    static readonly string FixtureSha256 = Sha256.OfFile(TestFixtures.PathOf(Fixture));

    readonly TestZoo _zoo = new();
    readonly string _scratch = Directory.CreateTempSubdirectory("mz-weights-api-").FullName;
    PortalFactory _factory = default!;
    HttpClient _http = default!;

    public Task InitializeAsync()
    {
        _zoo.Add("seed7", TestZoo.SafeTensors(Fixture, sha256: FixtureSha256));
        _zoo.Add("unpinned", TestZoo.SafeTensors("model.safetensors"));
        _zoo.Add("scratch", weights: null);
        _zoo.AddBundled(TestFixtures.PathOf(Fixture), tag: "house");
        var (_, tampered) = _zoo.AddBundled(TestFixtures.PathOf(Fixture), tag: "tampered");
        // Same size, one byte of tensor data changed: only the hash can tell.
        var bytes = File.ReadAllBytes(tampered);
        bytes[^1] ^= 0x01;
        File.WriteAllBytes(tampered, bytes);
        _factory = new PortalFactory(new Dictionary<string, string?>
        {
            ["Storage:ZooDir"] = _zoo.Dir,
            ["Weights:MaxUploadBytes"] = MaxUpload.ToString(),
            ["Datasets:FetchOnStartup"] = "false",
        });
        _factory.StartServer();
        _http = new HttpClient { BaseAddress = _factory.ClientOptions.BaseAddress, Timeout = TimeSpan.FromMinutes(2) };
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _factory.DisposeAsync();
        _zoo.Dispose();
        Directory.Delete(_scratch, recursive: true);
    }

    static MultipartFormDataContent Form(Stream content, string fileName)
    {
        var file = new StreamContent(content);
        file.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return new MultipartFormDataContent { { file, "file", fileName } };
    }

    async Task<HttpResponseMessage> Upload(string id, string fixture)
    {
        await using var fs = File.OpenRead(TestFixtures.PathOf(fixture));
        return await _http.PostAsync($"/api/models/{id}/weights", Form(fs, fixture));
    }

    async Task<JsonElement> Json(HttpResponseMessage r) => await r.Content.ReadFromJsonAsync<JsonElement>();

    [Fact]
    public async Task Upload_ImportsTheCheckpoint_AndTheExportLoadsToTheSameTensors()
    {
        var response = await Upload("resnet18.seed7", Fixture);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var record = await Json(response);
        record.GetProperty("sha256").GetString().ShouldBe(FixtureSha256);
        record.GetProperty("messages").EnumerateArray().Select(m => m.GetString())
            .ShouldContain("The checkpoint's classifier ('fc') has 10 classes and the model has 1000, so the head was initialised fresh.");
        record.TryGetProperty("path", out _).ShouldBeFalse("the server's paths are not the client's business");

        var models = await Json(await _http.GetAsync("/api/models"));
        models.EnumerateArray().Single(m => m.GetProperty("id").GetString() == "resnet18.seed7").GetProperty("weights").GetString().ShouldBe("Available");
        (await Json(await _http.GetAsync("/api/models/resnet18.seed7/weights"))).GetProperty("sha256").GetString().ShouldBe(FixtureSha256);

        var export = await _http.GetAsync("/api/models/resnet18.seed7/weights.safetensors");
        export.StatusCode.ShouldBe(HttpStatusCode.OK);
        export.Content.Headers.ContentDisposition!.FileName.ShouldBe("resnet18.seed7.safetensors");
        var exported = Path.Combine(_scratch, "export.safetensors");
        await File.WriteAllBytesAsync(exported, await export.Content.ReadAsByteArrayAsync());
        SafeTensors.ReadHeader(exported).Where(t => t.Name.EndsWith(".weight")).ShouldAllBe(t => t.Dtype == "F32");
        var original = SafeTensors.Load(TestFixtures.PathOf(Fixture));
        var roundTrip = SafeTensors.Load(exported);
        roundTrip.Keys.ShouldBe(original.Keys, ignoreOrder: true);
        foreach (var (k, t) in original)
        {
            roundTrip[k].dtype.ShouldBe(t.dtype, k);
            using var diff = (roundTrip[k] - t).abs().max().to_type(TorchSharp.torch.ScalarType.Float64);
            diff.item<double>().ShouldBe(0.0, k);
        }
        foreach (var t in original.Values.Concat(roundTrip.Values)) t.Dispose();

        var bf16 = await _http.GetAsync("/api/models/resnet18.seed7/weights.safetensors?dtype=bf16");
        bf16.Content.Headers.ContentDisposition!.FileName.ShouldBe("resnet18.seed7.bf16.safetensors");
        var bf16Path = Path.Combine(_scratch, "export.bf16.safetensors");
        await File.WriteAllBytesAsync(bf16Path, await bf16.Content.ReadAsByteArrayAsync());
        SafeTensors.ReadHeader(bf16Path).Single(t => t.Name == "conv1.weight").Dtype.ShouldBe("BF16");
    }

    [Theory]
    [InlineData(null, "resnet18.house.safetensors", "F32")]
    [InlineData("f16", "resnet18.house.f16.safetensors", "F16")]
    [InlineData("bf16", "resnet18.house.bf16.safetensors", "BF16")]
    public async Task Export_OfBundledHouseWeights_RoundTripsToTheSameTensorsWithinTheDtype_AndNamesItsSource(string? dtype, string fileName, string stored)
    {
        var export = await _http.GetAsync("/api/models/resnet18.house/weights.safetensors" + (dtype is null ? "" : "?dtype=" + dtype));
        export.StatusCode.ShouldBe(HttpStatusCode.OK, await export.Content.ReadAsStringAsync());
        export.Content.Headers.ContentDisposition!.FileName.ShouldBe(fileName);
        var exported = Path.Combine(_scratch, fileName);
        await File.WriteAllBytesAsync(exported, await export.Content.ReadAsByteArrayAsync());

        var metadata = SafeTensors.ReadMetadata(exported);
        metadata["modelzoo.entry"].ShouldBe("resnet18.house");
        metadata["modelzoo.source"].ShouldBe("bundled");
        metadata["modelzoo.source_file"].ShouldBe("model.safetensors");
        metadata["modelzoo.source_sha256"].ShouldBe(FixtureSha256);
        SafeTensors.ReadHeader(exported).Single(t => t.Name == "conv1.weight").Dtype.ShouldBe(stored);
        SafeTensors.ReadHeader(exported).Single(t => t.Name == "bn1.num_batches_tracked").Dtype.ShouldBe("I64");

        var original = SafeTensors.Load(TestFixtures.PathOf(Fixture));
        var roundTrip = SafeTensors.Load(exported);
        var type = stored switch { "F16" => TorchSharp.torch.ScalarType.Float16, "BF16" => TorchSharp.torch.ScalarType.BFloat16, _ => TorchSharp.torch.ScalarType.Float32 };
        roundTrip.Keys.ShouldBe(original.Keys, ignoreOrder: true);
        foreach (var (k, t) in original)
        {
            // Exactly the original rounded to the stored type: the export converts once and changes nothing else.
            using var expected = t.dtype == TorchSharp.torch.ScalarType.Float32 ? t.to_type(type).to_type(TorchSharp.torch.ScalarType.Float32) : t.clone();
            using var diff = (roundTrip[k] - expected).abs().max().to_type(TorchSharp.torch.ScalarType.Float64);
            diff.item<double>().ShouldBe(0.0, k);
        }
        foreach (var t in original.Values.Concat(roundTrip.Values)) t.Dispose();
    }

    [Fact]
    public async Task Export_OfABundledFileWhoseHashNoLongerMatches_Is409_WithBothHashes()
    {
        var response = await _http.GetAsync("/api/models/resnet18.tampered/weights.safetensors");
        response.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        var detail = (await Json(response)).GetProperty("detail").GetString()!;
        detail.ShouldStartWith("The bundled weights file model.safetensors of 'resnet18.tampered' has sha256 ");
        detail.ShouldContain($"but its manifest records {FixtureSha256}: the file was changed or damaged");
        detail.ShouldNotContain(_zoo.Dir, customMessage: "the server's folders stay on the server");
    }

    [Fact]
    public async Task Upload_OfAnotherArchitecturesCheckpoint_Is400_WithTheReasonAndTheKeyLists()
    {
        var response = await Upload("resnet18.unpinned", "mobilenet_v2_seed7.safetensors");
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var problem = await Json(response);
        problem.GetProperty("detail").GetString()!.ShouldStartWith("mobilenet_v2_seed7.safetensors: Checkpoint does not fit resnet18: 122 missing keys");
        problem.GetProperty("failure").GetString().ShouldBe("DoesNotFit");
        problem.GetProperty("missing").EnumerateArray().Select(k => k.GetString()).ShouldContain("conv1.weight");
        problem.GetProperty("unexpected").EnumerateArray().Select(k => k.GetString()).ShouldContain("classifier.1.weight");
        (await _http.GetAsync("/api/models/resnet18.unpinned/weights")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Upload_OverTheLimit_Is413()
    {
        using var big = new MemoryStream(new byte[MaxUpload + (2 << 20)]);
        var response = await _http.PostAsync("/api/models/resnet18.unpinned/weights", Form(big, "big.safetensors"));
        response.StatusCode.ShouldBe(HttpStatusCode.RequestEntityTooLarge);
        (await Json(response)).GetProperty("detail").GetString()!.ShouldContain("larger than the upload limit");
    }

    [Fact]
    public async Task Upload_ToAnEntryWithoutWeights_Is400_AndToAnUnknownEntry404()
    {
        var none = await Upload("resnet18.scratch", Fixture);
        none.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await Json(none)).GetProperty("detail").GetString()!.ShouldContain("names no weights file");
        (await Upload("resnet18.nope", Fixture)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Export_WithoutImportedWeights_Is404_WithAReason()
    {
        var missing = await _http.GetAsync("/api/models/resnet18.unpinned/weights.safetensors");
        missing.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await Json(missing)).GetProperty("detail").GetString()
            .ShouldBe("The weights of 'resnet18.unpinned' have not been imported on this installation. Import model.safetensors first, " +
                      "on the model page or with POST /api/models/resnet18.unpinned/weights.");
        var none = await _http.GetAsync("/api/models/resnet18.scratch/weights.safetensors");
        none.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await Json(none)).GetProperty("detail").GetString()!.ShouldContain("has no weights");
        (await _http.GetAsync("/api/models/resnet18.seed7/weights.safetensors?dtype=int8")).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task OpenApi_DocumentsTheWeightsEndpoints()
    {
        var doc = await _http.GetStringAsync("/openapi/v1.json");
        doc.ShouldContain("\"/api/models/{id}/weights\"");
        doc.ShouldContain("\"/api/models/{id}/weights.safetensors\"");
        doc.ShouldContain("\"operationId\": \"ImportWeights\"");
        doc.ShouldContain("\"operationId\": \"ExportWeights\"");
        doc.ShouldContain("multipart/form-data");
    }
}
