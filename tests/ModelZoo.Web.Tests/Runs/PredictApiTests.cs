using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Runs;
using ModelZoo.Infrastructure.Tests.Runs.Predict;
using ModelZoo.Web.Tests.Integration;
using SkiaSharp;

namespace ModelZoo.Web.Tests.Runs;

/// <summary>The real portal with one tiny image run trained by its own worker, shared by the tests of the predict API.</summary>
public sealed class PredictPortal : IAsyncLifetime
{
    public PortalFactory Factory { get; } = new(new Dictionary<string, string?>
    {
        ["Datasets:FetchOnStartup"] = "false",
        ["Runs:Predict:MaxImageBytes"] = "4000",
        ["Runs:Predict:MaxPixels"] = "10000",
    });
    public HttpClient Http { get; private set; } = default!;
    public ImageSet Images { get; private set; } = default!;
    public SplitIndices Split { get; private set; } = default!;
    public Guid RunId { get; private set; }

    public async Task InitializeAsync()
    {
        Factory.StartServer();
        Http = new HttpClient { BaseAddress = Factory.ClientOptions.BaseAddress, Timeout = TimeSpan.FromMinutes(3) };
        var (info, images, split) = TintedImages.Tinted(perClass: 10, seed: 4);
        Factory.Services.GetRequiredService<DatasetStore>().Write(info, images, split);
        (Images, Split) = (images, split);
        var response = await Http.PostAsJsonAsync("/api/runs", new RunRequest
        {
            ModelId = "resnet18.tv_in1k", DatasetId = info.Id, Strategy = "full-fine-tune",
            HyperParameters = new HyperParameters { Epochs = 1, BatchSize = 16, ImageSize = 16, Seed = 2 },
        }, RunPolling.Json);
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        RunId = (await response.Content.ReadFromJsonAsync<RunView>(RunPolling.Json))!.Id;
        var run = await Http.WaitForTerminalAsync(RunId);
        run.Status.ShouldBe(RunStatus.Succeeded, run.Error);
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Factory.DisposeAsync();
    }
}

/// <summary><c>POST /api/runs/{id}/predict</c>: the answer, and every refusal with its status and reason.</summary>
public sealed class PredictApiTests(PredictPortal portal) : IClassFixture<PredictPortal>
{
    HttpClient Http => portal.Http;

    Task<HttpResponseMessage> PostFile(Guid run, byte[] bytes, string query = "", string field = "file") =>
        Http.PostAsync($"/api/runs/{run}/predict{query}", new MultipartFormDataContent
        {
            { new ByteArrayContent(bytes) { Headers = { ContentType = new MediaTypeHeaderValue("image/png") } }, field, "upload.png" },
        });

    static async Task<string> Detail(HttpResponseMessage r) =>
        (await r.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString()!;

    static byte[] SolidPng(int side)
    {
        using var bitmap = new SKBitmap(side, side);
        bitmap.Erase(SKColors.OrangeRed);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    [Fact]
    public async Task AnImage_GetsTheTopClassesMostProbableFirst_NamedAsTheCardNamesThem_AndAGradCamOverlay()
    {
        var png = TintedImages.Png(portal.Images, portal.Split.Test[0]);
        var response = await PostFile(portal.RunId, png, "?top=2");
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();
        json.GetProperty("runId").GetGuid().ShouldBe(portal.RunId);
        json.GetProperty("modelId").GetString().ShouldBe("resnet18.tv_in1k");
        json.GetProperty("architecture").GetString().ShouldBe("resnet18");
        json.GetProperty("modality").GetString().ShouldBe("image");
        var top = json.GetProperty("top").EnumerateArray().ToList();
        top.Count.ShouldBe(2);
        var p = top.Select(t => t.GetProperty("probability").GetDouble()).ToList();
        p.ShouldBe(p.OrderByDescending(x => x).ToList());
        p.Sum().ShouldBeLessThanOrEqualTo(1.0 + 1e-6);
        top.Select(t => t.GetProperty("name").GetString()).ShouldBeSubsetOf(["red", "green", "blue"]);
        var cam = json.GetProperty("gradCam");
        cam.GetProperty("stage").GetString().ShouldBe("layer4");
        cam.GetProperty("module").GetString().ShouldBe("layer4");
        cam.GetProperty("targetName").GetString().ShouldBe(top[0].GetProperty("name").GetString());
        cam.GetProperty("overlayPng").GetString()!.ShouldStartWith("data:image/png;base64,");
        cam.GetProperty("map").GetArrayLength().ShouldBe(cam.GetProperty("height").GetInt32() * cam.GetProperty("width").GetInt32());
    }

    [Fact]
    public async Task NotAnImage_Is400_NamingTheProblem()
    {
        var response = await PostFile(portal.RunId, "just some text, not pixels"u8.ToArray());
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await Detail(response)).ShouldContain("is not an image that can be read");
    }

    [Fact]
    public async Task ACorruptImage_Is400_NamingTheProblem()
    {
        var png = TintedImages.Png(portal.Images, 0);
        var response = await PostFile(portal.RunId, png[..(png.Length / 2)]);
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await Detail(response)).ShouldContain("truncated");
    }

    [Fact]
    public async Task AFileOverTheByteLimit_Is413_StatingTheLimit()
    {
        var response = await PostFile(portal.RunId, new byte[5000]);
        response.StatusCode.ShouldBe(HttpStatusCode.RequestEntityTooLarge);
        (await Detail(response)).ShouldContain("over the limit of 4,000");
    }

    [Fact]
    public async Task AnImageOverThePixelLimit_Is413_BeforeItIsDecoded()
    {
        var png = SolidPng(200);
        png.Length.ShouldBeLessThan(4000, "small in bytes, large in pixels");
        var response = await PostFile(portal.RunId, png);
        response.StatusCode.ShouldBe(HttpStatusCode.RequestEntityTooLarge);
        var detail = await Detail(response);
        detail.ShouldContain("200x200");
        detail.ShouldContain("Runs:Predict:MaxPixels");
    }

    [Fact]
    public async Task AText_ToAnImageRun_Is400_WrongModality()
    {
        var response = await Http.PostAsJsonAsync($"/api/runs/{portal.RunId}/predict", new { text = "a red square" });
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await Detail(response)).ShouldContain("classifies images; upload an image, not a text");
    }

    [Fact]
    public async Task NoInput_Is400_AndAnUnknownRun_Is404()
    {
        var empty = await Http.PostAsync($"/api/runs/{portal.RunId}/predict", new MultipartFormDataContent { { new StringContent("3"), "top" } });
        empty.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await Detail(empty)).ShouldContain("neither a `file`");

        var none = await PostFile(portal.RunId, TintedImages.Png(portal.Images, 0), "?top=0");
        none.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await Detail(none)).ShouldContain("top must be at least 1");

        var unknown = Guid.NewGuid();
        var response = await PostFile(unknown, SolidPng(8));
        response.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await Detail(response)).ShouldContain($"There is no run {unknown}");
    }

    [Fact]
    public async Task ARunThatDidNotSucceed_OrLostItsWeights_Is409_AndThePortalStaysUp()
    {
        var launched = await Http.PostAsJsonAsync("/api/runs", new RunRequest
        {
            ModelId = "resnet18.tv_in1k", DatasetId = "tinted", HyperParameters = new HyperParameters { Epochs = 200, ImageSize = 16 },
        }, RunPolling.Json);
        var id = (await launched.Content.ReadFromJsonAsync<RunView>(RunPolling.Json))!.Id;
        var notYet = await PostFile(id, SolidPng(8));
        notYet.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        (await Detail(notYet)).ShouldContain("only a succeeded run's trained model can be tried");
        (await Http.PostAsync($"/api/runs/{id}/cancel", null)).EnsureSuccessStatusCode();
        (await Http.WaitForTerminalAsync(id)).Status.ShouldBe(RunStatus.Cancelled);
        (await Detail(await PostFile(id, SolidPng(8)))).ShouldContain("cancelled");

        var weights = Path.Combine(portal.Factory.DataDir, "runs", portal.RunId.ToString(), RunOutputs.WeightsFileNameOf(portal.RunId));
        File.Move(weights, weights + ".away");
        try
        {
            var lost = await PostFile(portal.RunId, SolidPng(8));
            lost.StatusCode.ShouldBe(HttpStatusCode.Conflict);
            (await Detail(lost)).ShouldContain("is missing from the data folder");
        }
        finally { File.Move(weights + ".away", weights); }
        (await PostFile(portal.RunId, SolidPng(8))).StatusCode.ShouldBe(HttpStatusCode.OK, "the portal is up and the run can be tried again");
    }

    [Fact]
    public async Task OpenApi_DocumentsThePredictEndpoint_AndItsRefusals()
    {
        var doc = await Http.GetStringAsync("/openapi/v1.json");
        doc.ShouldContain("\"/api/runs/{id}/predict\"");
        doc.ShouldContain("\"operationId\": \"PredictWithRun\"");
        doc.ShouldContain("\"413\"");
    }
}
