using Bunit;
using ModelZoo.Core.Datasets;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Storage;
using ModelZoo.Web.Datasets;
using ModelZoo.Web.Tests.Components;

namespace ModelZoo.Web.Tests.Datasets;

public class TextDatasetPageTests : IAsyncLifetime
{
    ComponentHost _host = default!;
    public async Task InitializeAsync() => _host = await ComponentHost.CreateAsync();
    public async Task DisposeAsync() => await _host.DisposeAsync();

    /// <summary>20 "neg" texts of 1..20 words "bad", 20 "pos" texts of 1..20 words "good", and one "pos" text of
    /// 600 words, longer than BERT's 512 tokens.</summary>
    void WriteReviews()
    {
        var texts = Enumerable.Range(1, 20).Select(n => string.Join(' ', Enumerable.Repeat("bad", n)))
            .Concat(Enumerable.Range(1, 20).Select(n => string.Join(' ', Enumerable.Repeat("good", n))))
            .Append(string.Join(' ', Enumerable.Repeat("good", 600))).ToList();
        var labels = texts.Select((_, i) => i < 20 ? 0 : 1).ToArray();
        _host.Get<DatasetStore>().Write(
            new DatasetInfo { Id = "reviews", Title = "Reviews", ClassNames = ["neg", "pos"], License = "CC0-1.0", Provenance = "written by the test", Origin = DatasetOrigin.Upload },
            new TextSet { Texts = texts, Labels = labels, ClassNames = ["neg", "pos"] },
            StratifiedSplitter.Split(labels, 3));
    }

    [Fact]
    public void TextPage_ShowsSampleRowsPerClass_SplitSizes_AndLengthsInCharactersAndWords()
    {
        WriteReviews();
        var page = _host.Ctx.Render<DatasetPage>(p => p.Add(x => x.Id, "reviews"));

        page.Find("[data-testid=stored-as]").TextContent.ShouldBe("UTF-8 texts, one label each");
        page.FindAll("[data-testid=histogram] g.bar").Count.ShouldBe(2);
        var rows = page.FindAll("[data-testid=text-samples] tbody tr");
        rows.Count.ShouldBe(6, "three sample rows per class");
        rows.Take(3).ShouldAllBe(r => r.TextContent.Contains("neg") && r.TextContent.Contains("bad"));
        rows.Skip(3).ShouldAllBe(r => r.TextContent.Contains("pos") && r.TextContent.Contains("good"));
        page.FindAll("[data-testid=samples] img").ShouldBeEmpty("a text dataset has no thumbnails");
        page.FindAll("[data-testid=augmentation]").ShouldBeEmpty("texts have no image augmentations to show or edit");
        page.Find("[data-testid=splits]").TextContent.ShouldBe("train 29 · validation 6 · test 6");

        var words = page.Find("[data-testid=words-histogram]").TextContent;
        words.ShouldContain("41 texts · min 1 · median 11");
        words.ShouldContain("max 600 words");
        page.Find("[data-testid=chars-histogram]").TextContent.ShouldContain("max 2,999 characters");
        page.Find("[data-testid=no-vocab]").TextContent.ShouldContain("vocab.txt");
    }

    [Fact]
    public void TextPage_CountsTokensWithAZooModelsVocabulary_AndMarksTextsOverItsMaximumLength()
    {
        WriteReviews();
        // A vocabulary beside the imported weights of the zoo's BERT entry (input size 512); "bad" is not in it.
        var dir = Directory.CreateDirectory(Path.Combine(_host.Get<ZooPaths>().WeightsDir, "bert.base_uncased_hf")).FullName;
        File.WriteAllLines(Path.Combine(dir, "vocab.txt"), ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "ba", "##d"]);

        var page = _host.Ctx.Render<DatasetPage>(p => p.Add(x => x.Id, "reviews"));

        page.WaitForAssertion(() => page.Find("[data-testid=tokens-histogram]"), TimeSpan.FromSeconds(20));
        var tokens = page.Find("[data-testid=tokens-histogram]").TextContent;
        // "bad" -> ba ##d (2 pieces), "good" -> 1; plus [CLS] and [SEP]: the shortest text is "good" (3), the longest 602.
        tokens.ShouldContain("41 texts · min 3");
        tokens.ShouldContain("max 602 tokens");
        page.Find("[data-testid=tokens-histogram-over]").TextContent.ShouldContain("1 over 512 (truncated)");
        page.FindAll("[data-testid=tokens-histogram-limit]").Count.ShouldBe(1, "the model's maximum is drawn");
        page.Find("[data-testid=token-lengths]").TextContent.ShouldContain("every text");
    }
}
